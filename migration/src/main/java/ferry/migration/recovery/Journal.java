package ferry.migration.recovery;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import ferry.migration.MigrationStep;
import ferry.migration.StepHook;
import java.util.function.Consumer;

/**
 * The journal of one migration in the cluster store: one entry per step, written before the step
 * acts, with what a recovery needs to finish or undo it ({@code kind} is the step's wire name).
 *
 * <p>Every entry is appended at the length this writer last knew: when another agent wrote
 * meanwhile (a peer that took the migration over while this node was seen down), the append is
 * refused with {@link Fenced} and the step does not act. So two agents never act on one
 * migration from different views.
 */
public final class Journal {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterStore store;
    private final String taskId;
    private final int vmid;
    private final String source;
    private final String target;
    private final StepHook hook;
    private int length;

    /** Another agent wrote to the journal since this writer read it: this writer must not act. */
    public static final class Fenced extends RuntimeException {
        Fenced(String taskId, ClusterException cause) {
            super("another agent wrote to the journal of task " + taskId + " meanwhile (" + cause.getMessage()
                    + "); this task leaves the migration to the journal's recovery", cause);
        }
    }

    /** @param length the number of entries the journal holds now (0 for a new migration) */
    public Journal(ClusterStore store, String taskId, int vmid, String source, String target, int length, StepHook hook) {
        this.store = store;
        this.length = length;
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
    public String target() {
        return target;
    }

    public void step(MigrationStep step, String detail) {
        step(step, detail, e -> { });
    }

    /** Appends the step durably, then lets the hook see it; {@code data} adds what recovery needs. */
    public void step(MigrationStep step, String detail, Consumer<ObjectNode> data) {
        ObjectNode e = JSON.createObjectNode();
        e.put("time", System.currentTimeMillis());
        e.put("vmid", vmid);
        e.put("source", source);
        e.put("target", target);
        e.put("phase", step.phase());
        e.put("kind", step.wire());
        e.put("step", detail);
        data.accept(e);
        try {
            store.appendJournal(taskId, e, length);
        } catch (ClusterException x) {
            if (x.reason() == ClusterException.Reason.CONFLICT) {
                throw new Fenced(taskId, x);
            }
            throw x;
        }
        length++;
        hook.reached(taskId, step);
    }

    /** Takes the journal as read now ({@code entries} long): the writer has decided anew from it. */
    void sync(int entries) {
        length = entries;
    }

    /** The last entry, with the outcome; the journal is closed: nothing is left to recover. */
    public void end(String outcome) {
        step(MigrationStep.ENDED, "ended", e -> e.put("outcome", outcome));
        store.closeJournal(taskId);
    }
}
