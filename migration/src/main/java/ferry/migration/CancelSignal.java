package ferry.migration;

/** A user's request to cancel a migration; the orchestrator looks at it at safe points. */
public final class CancelSignal {
    private volatile String reason;

    public void cancel(String why) {
        if (reason == null) {
            reason = why;
        }
    }

    public boolean requested() {
        return reason != null;
    }

    public String reason() {
        return reason;
    }

    void check() {
        if (reason != null) {
            throw new MigrationCancelled(reason);
        }
    }

    /** Thrown at a safe point after cancel was asked for. */
    static final class MigrationCancelled extends RuntimeException {
        MigrationCancelled(String reason) {
            super(reason);
        }
    }
}
