package ferry.agent;

import ferry.migration.CancelSignal;
import ferry.migration.MigrationResult;
import ferry.migration.TaskLog;
import java.util.concurrent.CompletableFuture;

/**
 * A migration running as a task of the source node's agent; {@code startedMs} is when this agent
 * started it; {@code policy} the convergence policy it runs with (null for one taken up from its journal).
 */
record Task(String id, int vmid, String target, String policy, long startedMs, TaskLog log, CancelSignal cancel,
            CompletableFuture<MigrationResult> result) {
    String status() {
        if (!result.isDone()) {
            return "running";
        }
        MigrationResult r = result.getNow(null);
        // outcome names as the CLI and bench print them: completed, not-converged, aborted, ...
        return r == null ? "failed" : r.status().wire();
    }
}
