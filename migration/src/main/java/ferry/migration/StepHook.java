package ferry.migration;

/**
 * Called after a step is journaled and before it acts: tests and the fault drill crash or kill
 * something exactly there. The product's hook does nothing.
 */
@FunctionalInterface
public interface StepHook {
    StepHook NONE = (taskId, step) -> { };

    void reached(String taskId, MigrationStep step);
}
