package ferry.cli;

/** The command was given something it cannot work with; exit code 2, nothing changed. */
final class UsageError extends RuntimeException {
    UsageError(String message) {
        super(message);
    }
}
