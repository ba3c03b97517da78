package ferry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
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
 *                  {@code skipped} (stopped, and no --all)
 * @param target    where it went or was sent; null when it was not sent anywhere
 * @param startedAt when its migration task was started (epoch ms), or null
 * @param endedAt   when this run saw that task end (epoch ms), or null
 */
record EvacuationRow(int vmid, String name, boolean online, String target, String outcome, Long downtimeMs,
                     Long durationMs, String task, Long startedAt, Long endedAt, String error) {

    /** Outcomes after which the VM is no longer on the node. */
    private static final Set<String> MOVED = Set.of("completed", "problems", "already-moved");

    static EvacuationRow notSent(int vmid, String name, boolean online, String outcome, String target, String error) {
        return new EvacuationRow(vmid, name, online, target, outcome, null, null, null, null, null, error);
    }

    boolean moved() {
        return MOVED.contains(outcome);
    }

    /** The VM should have left and did not, or may not have (a skipped stopped VM is no failure). */
    boolean failed() {
        return !moved() && !"skipped".equals(outcome);
    }

    /**
     * The exit code of an evacuation, as {@code ferry migrate}'s: 1 when a VM did not move, else 4
     * when one's outcome is not known yet (its agent was lost, or its hand-over is pending), else
     * 3 when one moved with problems, else 0.
     */
    static int exitCode(java.util.List<EvacuationRow> rows) {
        Set<String> open = Set.of("unknown", "handover-pending");
        if (rows.stream().anyMatch(r -> r.failed() && !open.contains(r.outcome()))) {
            return Main.FAILED;
        }
        if (rows.stream().anyMatch(r -> open.contains(r.outcome()))) {
            return Main.UNKNOWN;
        }
        return rows.stream().anyMatch(r -> r.outcome().equals("problems")) ? Main.PROBLEMS : Main.OK;
    }

    ObjectNode json() {
        ObjectNode o = VmCommand.JSON.createObjectNode().put("vmid", vmid).put("name", name).put("online", online)
                .put("target", target).put("outcome", outcome).put("downtime_ms", downtimeMs)
                .put("duration_ms", durationMs).put("task", task).put("started_at", startedAt).put("ended_at", endedAt);
        return o.put("error", error);
    }
}
