package ferry.migration;

/** The migration was refused before anything changed (the prepare phase); the message says why and what to do. */
public final class MigrationRefused extends RuntimeException {
    public MigrationRefused(String message) {
        super(message);
    }
}
