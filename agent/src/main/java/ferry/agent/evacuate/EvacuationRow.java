package ferry.agent.evacuate;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.ApiJson;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What became of one VM of an evacuated node: a row of the summary table and an element of
 * {@code vms} in the JSON.
 *
 * @param outcome   a migration's own outcome (completed, problems, failed, not-converged, aborted,
 *                  cancelled, handover-pending), or the evacuation's: {@code unknown} (its agent was
 *                  lost), {@code refused} (every target refused it), {@code no-target} (no node to
 *                  go to), {@code locked} (a lock no running task holds, or held too long),
 *                  {@code already-moved} (another task moved it while this run waited),
 *                  {@code skipped} (stopped, and no --all), {@code not-started} (the evacuation was
 *                  stopped before this VM's turn)
 * @param target    where it went or was sent; null when it was not sent anywhere
 * @param startedAt when its migration task was started (epoch ms), or null
 * @param endedAt   when this run saw that task end (epoch ms), or null
 * @param placement why {@code target} was chosen: its plan for the VM's policy, or free memory (and why)
 * @param refusals  the targets whose prepare refused the VM, with their words (empty when none did)
 */
public record EvacuationRow(int vmid, String name, boolean online, String target, String outcome, Long downtimeMs,
                            Long durationMs, String task, Long startedAt, Long endedAt, String error,
                            String placement, Map<String, String> refusals) {
    public EvacuationRow {
        refusals = refusals == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(refusals));
    }

    /** Outcomes after which the VM is no longer on the node. */
    private static final Set<String> MOVED = Set.of("completed", "problems", "already-moved");

    /** How a whole evacuation ended, worst first: a VM left behind outweighs one not known yet, which outweighs problems. */
    public enum Overall {
        /** some VM did not move */
        FAILED,
        /** some VM's outcome is not known yet (its agent was lost, or its hand-over is pending) */
        UNKNOWN,
        /** every VM moved, some with problems */
        PROBLEMS,
        /** every VM moved (or was a stopped one left without --all) */
        COMPLETED;

        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    public static EvacuationRow notSent(int vmid, String name, boolean online, String outcome, String target,
                                        String error) {
        return new EvacuationRow(vmid, name, online, target, outcome, null, null, null, null, null, error, null, null);
    }

    /** The same row with how its target was chosen and which targets refused the VM. */
    EvacuationRow placed(String how, Map<String, String> refusedBy) {
        return new EvacuationRow(vmid, name, online, target, outcome, downtimeMs, durationMs, task, startedAt, endedAt,
                error, how, refusedBy);
    }

    public boolean moved() {
        return MOVED.contains(outcome);
    }

    /** The VM should have left and did not, or may not have (a skipped stopped VM is no failure). */
    public boolean failed() {
        return !moved() && !"skipped".equals(outcome);
    }

    public static Overall overall(List<EvacuationRow> rows) {
        Set<String> open = Set.of("unknown", "handover-pending");
        if (rows.stream().anyMatch(r -> r.failed() && !open.contains(r.outcome()))) {
            return Overall.FAILED;
        }
        if (rows.stream().anyMatch(r -> open.contains(r.outcome()))) {
            return Overall.UNKNOWN;
        }
        return rows.stream().anyMatch(r -> r.outcome().equals("problems")) ? Overall.PROBLEMS : Overall.COMPLETED;
    }

    public ObjectNode json() {
        ObjectNode o = ApiJson.MAPPER.createObjectNode().put("vmid", vmid).put("name", name).put("online", online)
                .put("target", target).put("outcome", outcome).put("downtime_ms", downtimeMs)
                .put("duration_ms", durationMs).put("task", task).put("started_at", startedAt).put("ended_at", endedAt);
        o.put("error", error).put("placement", placement);
        var refused = o.putArray("refusals"); // a list, not an object keyed by node names: keys stay snake_case
        refusals.forEach((node, why) -> refused.addObject().put("node", node).put("reason", why));
        return o;
    }

    /**
     * The summary of an evacuation as the CLI's --json prints it and the agent's evacuation task
     * gives as its result: node, settings, counts and one object per VM.
     */
    public static ObjectNode report(String node, int parallel, int clusterLimit, List<EvacuationRow> rows) {
        ObjectNode o = ApiJson.MAPPER.createObjectNode().put("node", node).put("maintenance", true)
                .put("parallel", parallel).put("cluster_limit", clusterLimit)
                .put("moved", rows.stream().filter(EvacuationRow::moved).count())
                .put("failed", rows.stream().filter(EvacuationRow::failed).count())
                .put("skipped", rows.stream().filter(r -> r.outcome().equals("skipped")).count());
        var vms = o.putArray("vms");
        rows.forEach(r -> vms.add(r.json()));
        return o;
    }
}
