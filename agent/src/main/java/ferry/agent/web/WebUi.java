package ferry.agent.web;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.agent.metrics.MigrationMetrics;
import ferry.migration.Progress;
import ferry.migration.TaskLog;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * What the agent serves besides its JSON API: the web UI (its page and assets from the jar, the
 * chart library from its webjar), the UI's login, {@code GET /metrics} for Prometheus, and a
 * task's live events as server-sent events ({@code GET /api/v1/tasks/{id}/events}).
 */
public final class WebUi {
    private static final String ASSETS = "ferry/agent/web/ui/";
    private static final Pattern ASSET_NAME = Pattern.compile("[a-z0-9-]+\\.(js|css|html|svg)");
    private static final Map<String, String> TYPES = Map.of("js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8", "html", "text/html; charset=utf-8", "svg", "image/svg+xml");
    /** How often a live view's stream looks for new samples and log lines. */
    static final long EVENT_POLL_MS = 250;

    /** A task of this agent as the live view needs it: its log, its end, and its JSON as the API shows it. */
    public record LiveTask(String id, TaskLog log, CompletableFuture<?> end, Supplier<JsonNode> json) {}

    private final BrowserGate gate;
    private final MigrationMetrics metrics;
    private final ProgressHistory history;
    private final Function<String, Optional<LiveTask>> tasks;
    private final ObjectMapper json;
    private final String uplot;

    public WebUi(BrowserGate gate, MigrationMetrics metrics, ProgressHistory history,
                 Function<String, Optional<LiveTask>> tasks, ObjectMapper json) {
        this.gate = gate;
        this.metrics = metrics;
        this.history = history;
        this.tasks = tasks;
        this.json = json;
        this.uplot = "META-INF/resources/webjars/uplot/" + versions().getProperty("uplot") + "/dist/";
    }

    public void install(Javalin app) {
        // Javalin ignores a trailing slash: this serves /ui and /ui/ alike (the page's links are absolute)
        app.get("/ui", ctx -> asset(ctx, ASSETS + "index.html", "html"));
        app.get("/ui/assets/{file}", ctx -> {
            String f = ctx.pathParam("file");
            if (f.equals("uplot.js") || f.equals("uplot.css")) {
                asset(ctx, uplot + (f.endsWith(".js") ? "uPlot.iife.min.js" : "uPlot.min.css"), f.endsWith(".js") ? "js" : "css");
            } else if (ASSET_NAME.matcher(f).matches()) {
                asset(ctx, ASSETS + f, f.substring(f.lastIndexOf('.') + 1));
            } else {
                ctx.status(404).result("no such asset");
            }
        });
        app.post("/ui/login", gate::login);
        app.post("/ui/logout", gate::logout);
        app.get("/metrics", ctx -> ctx.contentType(MigrationMetrics.CONTENT_TYPE).result(metrics.scrape()));
        app.sse("/api/v1/tasks/{id}/events", this::events);
    }

    /**
     * A task's live events: {@code progress} (one per sample, from the task's first, as the task
     * JSON's {@code progress}), {@code log} ({@code {"n": index, "line": text}}), and {@code end}
     * (the task JSON, then the stream closes). A task not on this agent gets one {@code error}.
     */
    private void events(SseClient client) {
        String id = client.ctx().pathParam("id");
        Optional<LiveTask> found = tasks.apply(id);
        if (found.isEmpty()) {
            client.sendEvent("error", json.createObjectNode().put("error", "no task '" + id + "' on this node")
                    .toString());
            client.close();
            return;
        }
        LiveTask task = found.get();
        client.keepAlive();
        Thread.ofVirtual().name("events " + id).start(() -> stream(client, task));
    }

    private void stream(SseClient client, LiveTask task) {
        int samples = 0;
        int lines = 0;
        try {
            while (!client.terminated()) {
                boolean ended = task.end().isDone(); // read first: what follows then holds everything before the end
                ProgressHistory.Page page = history.since(task.id(), samples);
                for (Progress p : page.samples()) {
                    client.sendEvent("progress", json.writeValueAsString(p));
                }
                samples = page.next();
                List<String> fresh = task.log().since(lines);
                for (String line : fresh) {
                    client.sendEvent("log", json.createObjectNode().put("n", lines++).put("line", line).toString());
                }
                if (ended) {
                    client.sendEvent("end", task.json().get().toString());
                    break;
                }
                Thread.sleep(EVENT_POLL_MS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            // the browser went away mid-write: nothing to tell it
        } finally {
            client.close();
        }
    }

    private static void asset(Context ctx, String resource, String type) throws IOException {
        try (InputStream in = WebUi.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                ctx.status(404).result("no such asset");
                return;
            }
            ctx.contentType(TYPES.get(type)).header("Cache-Control", "no-cache")
                    // the page runs only its own scripts: nothing inline, nothing from elsewhere
                    .header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'")
                    .result(in.readAllBytes());
        }
    }

    private static Properties versions() {
        Properties p = new Properties();
        try (InputStream in = WebUi.class.getClassLoader().getResourceAsStream(ASSETS + "versions.properties")) {
            p.load(in);
        } catch (IOException | NullPointerException e) {
            throw new UncheckedIOException(new IOException("the agent's jar lacks " + ASSETS + "versions.properties"));
        }
        return p;
    }
}
