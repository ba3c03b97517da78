package ferry.agent;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Which migration holds a VM's lock, and whether a task still runs it: asked before a person
 * pauses, resumes or unlocks a VM by hand, so that none of them cuts into a live migration.
 */
final class LockHolders {
    /** What the orchestrating node says of the task. */
    enum Liveness {
        /** a task runs the migration now. */
        RUNNING,
        /** the orchestrating agent answers, but no task runs the migration (its Recoverer takes it up). */
        IDLE,
        /** the orchestrating agent does not answer. */
        UNREACHABLE
    }

    /** The open journal of a VM's migration: its task, the node that orchestrates it, its last step. */
    record Holder(String taskId, int vmid, String node, String lastStep, Liveness liveness) {
        /** Why a person's action is refused, and what to do instead. */
        String refusal(String action) {
            String head = "cannot " + action + " VM " + vmid + ": it is locked by migration task " + taskId;
            return switch (liveness) {
                case RUNNING -> head + ", running on node '" + node + "' (last step: " + lastStep + "); cancel it with "
                        + "'ferry task cancel " + taskId + "' or wait for its end ('ferry task log " + taskId + "')";
                case IDLE -> head + " of node '" + node + "', which no task runs now (last step: " + lastStep
                        + "); that node's agent resolves it (it looks every " + Recoverer.EVERY.toSeconds()
                        + " s; 'ferry task log " + taskId + "' shows what it did); if it cannot, 'ferry vm unlock "
                        + vmid + " --force' abandons the journal";
                case UNREACHABLE -> head + " of node '" + node + "' (last step: " + lastStep + "), whose agent does "
                        + "not answer; that agent resolves the journal when it starts again ('ferry cluster up'); if "
                        + "node '" + node + "' is gone for good, 'ferry vm unlock " + vmid + " --force' abandons the "
                        + "journal and unlocks";
            };
        }
    }

    private final String node;
    private final ClusterStore store;
    private final Tasks tasks;
    private final Function<String, AgentClient> agents;

    LockHolders(String node, ClusterStore store, Tasks tasks, Function<String, AgentClient> agents) {
        this.node = node;
        this.store = store;
        this.tasks = tasks;
        this.agents = agents;
    }

    /** The unfinished migration of the VM (an open journal), if there is one. */
    Optional<Holder> of(int vmid) {
        // the lock names its task: one journal to read instead of every open one
        var named = store.vm(vmid).map(VmRecord::lockHolder);
        if (named.isPresent()) {
            String id = named.get().task();
            try {
                List<ObjectNode> entries = store.journal(id);
                if (!store.closedJournals().contains(id)) {
                    String last = entries.get(entries.size() - 1).path("kind").asText("?");
                    return Optional.of(new Holder(id, vmid, named.get().node(), last, liveness(named.get().node(), id)));
                }
            } catch (ClusterException e) {
                // no journal of that task (yet, or any more): look through the open ones
            }
        }
        for (String id : store.openJournals()) {
            List<ObjectNode> entries;
            try {
                entries = store.journal(id);
            } catch (ClusterException e) {
                continue; // closed meanwhile
            }
            if (!entries.isEmpty() && entries.get(0).path("vmid").asInt() == vmid) {
                String orchestrator = entries.get(0).path("source").asText();
                String last = entries.get(entries.size() - 1).path("kind").asText("?");
                return Optional.of(new Holder(id, vmid, orchestrator, last, liveness(orchestrator, id)));
            }
        }
        return Optional.empty();
    }

    /** Throws a refusal (409) naming the task when an unfinished migration holds the VM. */
    void refuseIfHeld(int vmid, String action) {
        of(vmid).ifPresent(h -> {
            throw new ClusterException(ClusterException.Reason.LOCKED, h.refusal(action));
        });
    }

    private Liveness liveness(String orchestrator, String taskId) {
        if (orchestrator.equals(node)) {
            return tasks.get(taskId).filter(t -> !t.result().isDone()).isPresent() ? Liveness.RUNNING : Liveness.IDLE;
        }
        if (store.config().node(orchestrator).isEmpty()) {
            return Liveness.UNREACHABLE; // removed from the cluster: no agent of it will ever answer
        }
        try {
            String status = agents.apply(orchestrator).get("/api/v1/tasks/" + taskId).path("status").asText();
            return status.equals("running") ? Liveness.RUNNING : Liveness.IDLE;
        } catch (AgentClient.AgentException e) {
            return e.status() == 0 ? Liveness.UNREACHABLE : Liveness.IDLE;
        }
    }
}
