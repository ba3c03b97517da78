package ferry.cli.drill;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.List;

/** The drill's verdict: a table for people, one JSON object for scripts; passed only when every counter is 0. */
public final class DrillReport {
    private final List<ScenarioResult> results;
    private final Findings total = new Findings();
    private final String skipped;
    private final String store;
    private final String hosts;

    DrillReport(List<ScenarioResult> results, String skipped, String store, String hosts) {
        this.store = store;
        this.hosts = hosts;
        this.results = List.copyOf(results);
        this.skipped = skipped;
        results.forEach(r -> total.add(r.findings()));
    }

    private long errors() {
        return results.stream().filter(r -> r.error() != null).count();
    }

    public boolean passed() {
        return total.clean() && errors() == 0;
    }

    public void printTable(PrintWriter out) {
        int w = Math.max(8, results.stream().mapToInt(r -> r.name().length()).max().orElse(8));
        int o = Math.max(7, results.stream().mapToInt(r -> r.outcome().length()).max().orElse(7));
        String fmt = "%-" + w + "s  %-" + o + "s  %-6s  %s%n";
        out.printf(fmt, "scenario", "outcome", "result", "checks");
        for (ScenarioResult r : results) {
            out.printf(fmt, r.name(), r.outcome(), r.passed() ? "ok" : "FAILED", String.join(", ", r.findings().checked));
        }
        out.printf("%nlost %d, duplicated %d, stale locks %d, orphans %d, manual steps %d%s: %s%n", total.lost,
                total.duplicated, total.staleLocks, total.orphans, total.manualSteps,
                errors() == 0 ? "" : ", drill errors " + errors(), passed() ? "PASSED" : "FAILED");
        if (skipped != null) {
            out.println(skipped);
        }
        for (ScenarioResult r : results) {
            if (!r.passed()) {
                out.printf("%s:%n", r.name());
                (r.error() != null ? List.of(r.error()) : r.findings().details).forEach(d -> out.printf("  %s%n", d));
                r.notes().forEach(n -> out.printf("  fault: %s%n", n));
            }
        }
        out.flush();
    }

    public ObjectNode json() {
        ObjectNode o = DrillCluster.JSON.createObjectNode();
        o.put("store", store).put("hosts", hosts);
        ArrayNode list = o.putArray("scenarios");
        for (ScenarioResult r : results) {
            ObjectNode s = list.addObject().put("name", r.name()).put("outcome", r.outcome()).put("passed", r.passed())
                    .put("seconds", r.seconds());
            r.findings().checked.forEach(s.putArray("checked")::add);
            ArrayNode details = s.putArray("details");
            r.notes().forEach(n -> details.add("fault: " + n));
            r.findings().details.forEach(details::add);
            if (r.error() != null) {
                details.add(r.error());
            }
        }
        o.put("lost", total.lost).put("duplicated", total.duplicated).put("stale_locks", total.staleLocks)
                .put("orphans", total.orphans).put("manual_steps", total.manualSteps).put("drill_errors", errors());
        if (skipped != null) {
            o.put("skipped", skipped);
        }
        o.put("passed", passed());
        return o;
    }
}
