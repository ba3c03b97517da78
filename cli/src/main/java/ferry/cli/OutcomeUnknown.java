package ferry.cli;

/** Contact with the agent running a migration was lost and not regained: exit code 4, the migration may go on. */
final class OutcomeUnknown extends RuntimeException {
    private boolean reported;

    OutcomeUnknown(String message) {
        super(message);
    }

    /** Marks that the command already printed its JSON object for it (with the task's id). */
    OutcomeUnknown reported() {
        reported = true;
        return this;
    }

    boolean isReported() {
        return reported;
    }
}
