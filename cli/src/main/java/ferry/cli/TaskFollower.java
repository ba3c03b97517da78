package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Follows a migration task to its end: on a terminal a progress bar (percent never goes back,
 * MiB/s, ETA), otherwise the task's log lines as they come; then the final result.
 */
final class TaskFollower {
    private final AgentClient agent;
    private final String taskId;
    private final PrintWriter out;
    private final boolean bar;
    private final boolean quiet;
    private double shownPercent;

    TaskFollower(AgentClient agent, String taskId, PrintWriter out, boolean bar, boolean quiet) {
        this.agent = agent;
        this.taskId = taskId;
        this.out = out;
        this.bar = bar;
        this.quiet = quiet;
    }

    /** Returns the final task JSON. */
    JsonNode follow() {
        int from = 0;
        boolean barShown = false;
        while (true) {
            JsonNode page = agent.get("/api/v1/tasks/" + taskId + "/log?from=" + from + "&wait=1000");
            from = page.path("next").asInt();
            if (!quiet) {
                for (JsonNode line : page.path("lines")) {
                    if (bar && line.asText().contains("migration active, transferred")) {
                        continue; // the bar shows these
                    }
                    if (barShown) {
                        out.print("\r\033[K");
                        barShown = false;
                    }
                    out.println(line.asText());
                }
                if (bar) {
                    JsonNode t = agent.get("/api/v1/tasks/" + taskId);
                    if (t.has("progress") && t.path("status").asText().equals("running")) {
                        out.print("\r\033[K" + render(t.path("progress")));
                        barShown = true;
                    }
                }
                out.flush();
            }
            if (page.path("done").asBoolean()) {
                if (barShown) {
                    out.println();
                }
                return agent.get("/api/v1/tasks/" + taskId);
            }
        }
    }

    private String render(JsonNode p) {
        long sent = p.path("transferred").asLong();
        long left = p.path("remaining").asLong();
        long rate = p.path("bytesPerSecond").asLong();
        // remaining can grow while the guest dirties memory: never show less than before
        double pct = sent + left == 0 ? 0 : 100.0 * sent / (sent + left);
        shownPercent = Math.max(shownPercent, Math.min(pct, 99.9));
        int width = 30;
        int filled = (int) (shownPercent / 100 * width);
        String eta = rate > 0 ? (left / rate) + "s" : "?";
        return String.format(Locale.ROOT, "[%s%s] %5.1f%%  %7.1f MiB/s  pass %d  ETA %s", "#".repeat(filled),
                " ".repeat(width - filled), shownPercent, rate / 1048576.0, p.path("pass").asLong(), eta);
    }

    /** The documented --json object of a finished migration. */
    static ObjectNode summary(JsonNode task) {
        JsonNode r = task.path("result");
        ObjectNode o = VmCommand.JSON.createObjectNode();
        o.put("status", r.path("status").asText(task.path("status").asText()).toLowerCase());
        o.put("task", task.path("id").asText());
        o.put("vmid", r.path("vmid").asInt(task.path("vmid").asInt()));
        o.put("source", r.path("source").asText(task.path("node").asText()));
        o.put("target", r.path("target").asText(task.path("target").asText()));
        o.put("online", r.path("online").asBoolean());
        o.put("duration_ms", r.path("durationMs").asLong());
        o.set("qemu_total_ms", r.path("qemuTotalMs"));
        o.set("downtime_ms", r.path("downtimeMs"));
        o.set("transferred_bytes", r.path("transferredBytes"));
        o.put("policy", r.path("policy").asText());
        if (r.hasNonNull("error")) {
            o.put("error", r.path("error").asText());
        }
        o.set("problems", r.path("problems").isMissingNode() ? VmCommand.JSON.createArrayNode() : r.path("problems"));
        o.set("log", r.path("log").isMissingNode() ? VmCommand.JSON.createArrayNode() : (ArrayNode) r.path("log"));
        return o;
    }

    /** Exit code of a finished migration: 0 completed, 1 failed or cancelled, 3 finished with problems. */
    static int exitCode(JsonNode task) {
        return switch (task.path("status").asText()) {
            case "completed" -> Main.OK;
            case "problems" -> Main.PROBLEMS;
            default -> Main.FAILED;
        };
    }
}
