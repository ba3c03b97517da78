package ferry.cli;

/** Contact with the agent running a migration was lost and not regained: exit code 4, the migration may go on. */
final class OutcomeUnknown extends RuntimeException {
    OutcomeUnknown(String message) {
        super(message);
    }
}
