package ferry.migration;

/** A user's request to cancel a migration; the orchestrator looks at it at safe points. */
public final class CancelSignal {
    private volatile String reason;
    private volatile String noReturn;
    private volatile boolean stopping;

    /**
     * Asks the migration to stop and clean up. Refused, with the reason, once the migration is
     * past its point of no return (postcopy, hand-over): cleaning up could not keep the VM then.
     */
    public void cancel(String why) {
        String past = noReturn;
        if (past != null) {
            throw new MigrationRefused("the migration can no longer be cancelled: " + past);
        }
        if (reason == null) {
            reason = why;
        }
    }

    /** From now on a cancel is refused with {@code why}. */
    public void noReturn(String why) {
        noReturn = why;
    }

    /**
     * The agent is stopping: waits that could last long (a hand-over waiting for its target) give
     * up and leave the journal open, so the agent's next start finishes them.
     */
    public void agentStopping() {
        stopping = true;
    }

    public boolean stopping() {
        return stopping;
    }

    public boolean requested() {
        return reason != null;
    }

    public String reason() {
        return reason;
    }

    public void check() {
        if (reason != null) {
            throw new MigrationCancelled(reason);
        }
    }

    /** Thrown at a safe point after cancel was asked for. */
    public static final class MigrationCancelled extends RuntimeException {
        MigrationCancelled(String reason) {
            super(reason);
        }
    }
}
