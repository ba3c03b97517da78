package ferry.agent;

import static ferry.agent.Agent.JSON;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterStore;
import ferry.migration.MigrationStep;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The migrations this node orchestrated: its journals (ended ones keep their outcome; open ones
 * with no task are {@code interrupted}) and the tasks its agent holds in memory (a task's own
 * status wins, e.g. {@code running}).
 */
final class TaskHistory {
    private final String node;
    private final ClusterStore store;
    private final Tasks tasks;

    TaskHistory(String node, ClusterStore store, Tasks tasks) {
        this.node = node;
        this.store = store;
        this.tasks = tasks;
    }

    /**
     * Each task as {id, node, vmid, source, target, status, started (epoch ms), last_step}, oldest
     * first; an ended one adds duration_ms (from its journal's times, or its result), and one this
     * agent ran since it started its QEMU-reported downtime_ms. Reads every journal of the cluster: for people, not for polling.
     */
    ArrayNode list() {
        Map<String, ObjectNode> byId = new LinkedHashMap<>();
        Set<String> open = Set.copyOf(store.openJournals());
        List<String> ids = new ArrayList<>(store.closedJournals());
        ids.addAll(open);
        OwnJournals.of(store, node, ids).forEach((id, entries) -> byId.put(id, fromJournal(id, entries,
                open.contains(id))));
        for (Task t : tasks.all()) {
            ObjectNode o = byId.computeIfAbsent(t.id(), id -> fromTask(t)).put("status", t.status());
            // the figures of tasks this agent ran since it started (journals keep only the outcome)
            var r = t.result().isDone() && !t.result().isCompletedExceptionally() ? t.result().join() : null;
            if (r != null) {
                o.put("duration_ms", r.durationMs());
                if (r.downtimeMs() != null) {
                    o.put("downtime_ms", r.downtimeMs());
                }
            }
        }
        ArrayNode out = JSON.createArrayNode();
        byId.values().stream().sorted(Comparator.comparingLong(o -> o.path("started").asLong())).forEach(out::add);
        return out;
    }

    /** Only the running tasks, from memory: cheap enough to poll ({@code cluster down} does). */
    ArrayNode running() {
        ArrayNode out = JSON.createArrayNode();
        tasks.running().stream().sorted(Comparator.comparingLong(Task::startedMs)).map(this::fromTask).forEach(out::add);
        return out;
    }

    private ObjectNode fromTask(Task t) {
        return JSON.createObjectNode().put("id", t.id()).put("node", node).put("vmid", t.vmid()).put("source", node)
                .put("target", t.target()).put("status", t.status()).put("started", t.startedMs()).putNull("last_step");
    }

    private ObjectNode fromJournal(String id, List<ObjectNode> entries, boolean open) {
        ObjectNode first = entries.get(0);
        ObjectNode last = entries.get(entries.size() - 1);
        boolean ended = MigrationStep.ENDED.wire().equals(last.path("kind").asText());
        String status = ended ? last.path("outcome").asText("ended") : open ? "interrupted" : "closed";
        ObjectNode o = JSON.createObjectNode().put("id", id).put("node", node).put("vmid", first.path("vmid").asInt())
                .put("source", first.path("source").asText()).put("target", first.path("target").asText())
                .put("status", status).put("started", first.path("time").asLong())
                .put("last_step", last.path("kind").asText());
        if (ended) {
            o.put("duration_ms", last.path("time").asLong() - first.path("time").asLong());
        }
        return o;
    }
}
