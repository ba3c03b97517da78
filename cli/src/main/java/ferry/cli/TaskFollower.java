package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;

/**
 * Follows a migration task to its end: on a terminal a progress bar (percent never goes back,
 * MiB/s, ETA), otherwise the task's log lines as they come; then the final result. When the
 * agent stops answering, it waits for it to come back and follows the recovered task (an agent
 * resolves its unfinished migrations under the same task id when it starts again).
 */
final class TaskFollower {
    private final AgentClient agent;
    private final String node;
    private final String taskId;
    private final PrintWriter out;
    private final boolean bar;
    private final boolean quiet;
    private double shownPercent;
    private PrintWriter progressLines;
    private long lastProgressAt = -1;
    private Duration reconnectWait = Duration.ZERO;
    private PrintWriter err = new PrintWriter(java.io.Writer.nullWriter());

    /** Follows task {@code taskId} on the agent of {@code node}. */
    TaskFollower(AgentClient agent, String node, String taskId, PrintWriter out, boolean bar, boolean quiet) {
        this.agent = agent;
        this.node = node;
        this.taskId = taskId;
        this.out = out;
        this.bar = bar;
        this.quiet = quiet;
    }

    /** With --json: each new progress as one compact JSON line on {@code err}. */
    void progressLines(PrintWriter err) {
        this.progressLines = err;
    }

    /** When the agent stops answering, waits up to {@code wait} for it, saying so on {@code err}. */
    TaskFollower reconnect(Duration wait, PrintWriter err) {
        this.reconnectWait = wait;
        this.err = err;
        return this;
    }

    /** Returns the final task JSON; throws {@link OutcomeUnknown} when the agent did not come back in time. */
    JsonNode follow() {
        int from = 0;
        boolean barShown = false;
        while (true) {
            JsonNode page = get("/api/v1/tasks/" + taskId + "/log?from=" + from + "&wait=1000");
            from = page.path("next").asInt();
            if (progressLines != null) {
                JsonNode p = get("/api/v1/tasks/" + taskId).path("progress");
                if (p.has("elapsed_ms") && p.path("elapsed_ms").asLong() != lastProgressAt) {
                    lastProgressAt = p.path("elapsed_ms").asLong();
                    progressLines.println(VmCommand.JSON.createObjectNode().put("task", taskId).set("progress", p));
                    progressLines.flush();
                }
            }
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
                    JsonNode t = get("/api/v1/tasks/" + taskId);
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
                return get("/api/v1/tasks/" + taskId);
            }
        }
    }

    /**
     * The agent's answer; while it does not answer, retries every second up to the reconnect wait.
     * Right after its restart the task may be unknown (404) until the agent's recovery takes it up.
     */
    private JsonNode get(String path) {
        long deadline = 0;
        while (true) {
            try {
                JsonNode answer = agent.get(path);
                if (deadline != 0) {
                    err.printf("the agent of node %s answers again; following task %s%n", node, taskId);
                    err.flush();
                }
                return answer;
            } catch (AgentClient.AgentException e) {
                boolean lost = e.status() == 0 || e.status() == 404 && deadline != 0;
                if (!lost) {
                    throw e;
                }
                if (deadline == 0) {
                    deadline = System.nanoTime() + reconnectWait.toNanos();
                    if (err != null) {
                        err.printf("lost contact with the agent of node %s; waiting up to %d s for it to come back "
                                + "(the migration goes on or is recovered there)%n", node, reconnectWait.toSeconds());
                        err.flush();
                    }
                }
                if (System.nanoTime() >= deadline) {
                    throw new OutcomeUnknown("outcome unknown: the agent of node " + node + " did not come back within "
                            + reconnectWait.toSeconds() + " s; the VM may still be migrating or recovering; run 'ferry "
                            + "task log " + taskId + "' once it runs again");
                }
                sleepASecond();
            }
        }
    }

    private static void sleepASecond() {
        try {
            Thread.sleep(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new OutcomeUnknown("interrupted while waiting for the agent to come back");
        }
    }

    private String render(JsonNode p) {
        long rate = p.path("bytes_per_second").asLong();
        // the agent's percent never goes back; keep it so across polls too
        shownPercent = Math.max(shownPercent, Math.min(p.path("percent").asDouble(), 99.9));
        int width = 24;
        int filled = (int) (shownPercent / 100 * width);
        String eta = p.hasNonNull("eta_seconds") ? Math.round(p.path("eta_seconds").asDouble()) + "s" : "?";
        int throttle = p.path("throttle_percent").asInt();
        return String.format(Locale.ROOT, "[%s%s] %5.1f%%  %-10s %6.1f MiB/s  dirty %5.1f MiB/s  pass %d%s  ETA %s",
                "#".repeat(filled), " ".repeat(width - filled), shownPercent, p.path("phase").asText(),
                rate / 1048576.0, p.path("dirty_bytes_per_second").asLong() / 1048576.0, p.path("pass").asLong(),
                throttle > 0 ? "  throttle " + throttle + "%" : "", eta);
    }

    /** The documented --json object of a finished migration. */
    static ObjectNode summary(JsonNode task) {
        JsonNode r = task.path("result");
        ObjectNode o = VmCommand.JSON.createObjectNode();
        o.put("status", task.path("status").asText());
        o.put("task", task.path("id").asText());
        o.put("vmid", r.path("vmid").asInt(task.path("vmid").asInt()));
        o.put("source", r.path("source").asText(task.path("node").asText()));
        o.put("target", r.path("target").asText(task.path("target").asText()));
        o.put("online", r.path("online").asBoolean());
        o.put("duration_ms", r.path("duration_ms").asLong());
        o.set("qemu_total_ms", r.path("qemu_total_ms"));
        o.set("overhead_ms", r.path("overhead_ms")); // wall time beside QEMU's stream
        o.set("downtime_ms", r.path("downtime_ms"));
        o.set("transferred_bytes", r.path("transferred_bytes"));
        o.put("policy", r.path("policy").asText());
        o.set("passes", r.path("passes"));
        o.set("max_throttle_percent", r.path("max_throttle_percent"));
        o.put("paused_by_ferry_ms", r.path("paused_by_ferry_ms").asLong());
        o.put("postcopy", r.path("postcopy").asBoolean());
        o.put("tls", r.path("tls").asBoolean()); // the streams went over QEMU's TLS
        o.set("prediction", r.path("prediction").isMissingNode() ? null : r.path("prediction"));
        ArrayNode disks = o.putArray("disks"); // the local disks mirrored live: name, bytes, seconds, mode
        r.path("disks").forEach(d -> disks.addObject().put("name", d.path("name").asText())
                .put("bytes", d.path("bytes").asLong()).put("seconds", d.path("seconds").asDouble())
                .put("mode", d.path("mode").asText()));
        if (r.hasNonNull("error")) {
            o.put("error", r.path("error").asText());
        }
        o.set("problems", r.path("problems").isMissingNode() ? VmCommand.JSON.createArrayNode() : r.path("problems"));
        o.set("log", r.path("log").isMissingNode() ? VmCommand.JSON.createArrayNode() : (ArrayNode) r.path("log"));
        return o;
    }

    /**
     * Exit code of a followed migration: 0 completed, 1 failed or cancelled, 3 finished with
     * problems, 4 hand-over pending (the agent finishes it; the VM waits paused on the source).
     */
    static int exitCode(JsonNode task) {
        return switch (task.path("status").asText()) {
            case "completed" -> Main.OK;
            case "problems" -> Main.PROBLEMS;
            case "handover-pending", "unknown" -> Main.UNKNOWN; // unknown: an evacuation lost sight of a VM
            default -> Main.FAILED;
        };
    }
}
