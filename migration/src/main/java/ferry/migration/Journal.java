package ferry.migration;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterStore;
import java.util.function.Consumer;

/**
 * The journal of one migration in the cluster store: one entry per step, written before the step
 * acts, with what a recovery needs to finish or undo it ({@code kind} is the step's wire name).
 */
final class Journal {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterStore store;
    private final String taskId;
    private final int vmid;
    private final String source;
    private final String target;
    private final StepHook hook;

    Journal(ClusterStore store, String taskId, int vmid, String source, String target, StepHook hook) {
        this.store = store;
        this.taskId = taskId;
        this.vmid = vmid;
        this.source = source;
        this.target = target;
        this.hook = hook;
    }

    String taskId() {
        return taskId;
    }

    /** The target node's name. */
    String target() {
        return target;
    }

    void step(MigrationStep step, String detail) {
        step(step, detail, e -> { });
    }

    /** Appends the step durably, then lets the hook see it; {@code data} adds what recovery needs. */
    void step(MigrationStep step, String detail, Consumer<ObjectNode> data) {
        ObjectNode e = JSON.createObjectNode();
        e.put("time", System.currentTimeMillis());
        e.put("vmid", vmid);
        e.put("source", source);
        e.put("target", target);
        e.put("phase", step.phase());
        e.put("kind", step.wire());
        e.put("step", detail);
        data.accept(e);
        store.appendJournal(taskId, e);
        hook.reached(taskId, step);
    }

    /** The last entry, with the outcome; the journal is closed: nothing is left to recover. */
    void end(String outcome) {
        step(MigrationStep.ENDED, "ended", e -> e.put("outcome", outcome));
        store.closeJournal(taskId);
    }
}
