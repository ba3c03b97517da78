package ferry.agent;

import static ferry.agent.Agent.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.evacuate.Evacuation;
import ferry.agent.evacuate.EvacuationRow;
import ferry.cluster.ClusterStore;
import ferry.migration.MigrationResult;
import ferry.migration.TaskLog;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * The evacuations of this node, run by its own agent (the source of every migration) so that one
 * started from the web UI goes on when the browser closes. Each is a task beside the migrations
 * ({@code GET /api/v1/tasks/{id}} and its log) whose result is the summary {@code ferry node
 * evacuate --json} prints. It is not among the running migrations the slots count, and it does
 * not outlive its agent: a restarted agent recovers the migrations, and the evacuation is run again.
 */
final class EvacuationTasks {
    static final String PREFIX = "evacuate-";

    /** One evacuation: its log (a line per step and per VM) and, once it ended, the summary. */
    record Evacuating(String id, long startedMs, Evacuation.Settings settings, TaskLog log, Evacuation evacuation,
                      CompletableFuture<ObjectNode> result) {
        String status() {
            if (!result.isDone()) {
                return "running";
            }
            return result.isCompletedExceptionally() ? "failed" : result.join().path("outcome").asText();
        }
    }

    /** This node's side of a migration, called in-process: the same calls the routes make. */
    interface Migrations {
        JsonNode vms();

        /** Starts a migration from this node and returns its task (a refusal is thrown as the route would answer it). */
        Task start(JsonNode request);

        /** The plan of a migration from this node, as {@code POST /vms/{vmid}/plan} answers it. */
        JsonNode plan(JsonNode request);
    }

    private final String node;
    private final ClusterStore store;
    private final Tasks tasks;
    private final Migrations migrations;
    private final Function<String, AgentClient> agents;
    private final Map<String, Evacuating> all = new ConcurrentHashMap<>();
    private final AtomicLong seq = new AtomicLong();

    EvacuationTasks(String node, ClusterStore store, Tasks tasks, Migrations migrations,
                    Function<String, AgentClient> agents) {
        this.node = node;
        this.store = store;
        this.tasks = tasks;
        this.migrations = migrations;
        this.agents = agents;
    }

    /** Starts an evacuation of this node in a thread of its own (the caller has set maintenance). */
    synchronized Evacuating start(Evacuation.Settings settings) {
        refuseIfRunning();
        String id = PREFIX + node + "-" + System.currentTimeMillis() + "-" + seq.incrementAndGet();
        TaskLog log = tasks.newLog(id);
        Evacuation evacuation = new Evacuation(store, new ThisNode(), agents, settings,
                (line, event) -> log.info("%s", line));
        Evacuating e = new Evacuating(id, System.currentTimeMillis(), settings, log, evacuation,
                new CompletableFuture<>());
        all.put(id, e);
        Thread.ofPlatform().name("task " + id).start(() -> {
            try {
                List<EvacuationRow> rows = evacuation.run();
                EvacuationRow.Overall overall = EvacuationRow.overall(rows);
                log.info("evacuation of node %s ended: %s; the node stays in maintenance until it is resumed", node,
                        overall.wire());
                e.result().complete(EvacuationRow.report(node, settings.parallel(), settings.clusterLimit(), rows)
                        .put("outcome", overall.wire()));
            } catch (Throwable t) {
                log.error("evacuation failed: %s; the migrations it started go on (see the running tasks); "
                        + "run it again to continue", t.toString());
                e.result().completeExceptionally(t);
            }
        });
        return e;
    }

    /** One evacuation of a node at a time: a second would count its slots twice. */
    void refuseIfRunning() {
        running().ifPresent(e -> {
            throw new ferry.cluster.ClusterException(ferry.cluster.ClusterException.Reason.CONFLICT, "node '" + node
                    + "' is already being evacuated by task " + e.id() + "; follow it, or cancel it first");
        });
    }

    Optional<Evacuating> get(String id) {
        return Optional.ofNullable(all.get(id));
    }

    Optional<Evacuating> running() {
        return all.values().stream().filter(e -> !e.result().isDone()).findFirst();
    }

    /** Stops starting VMs (an agent that stops, or a cancel); the migrations under way end on their own. */
    void stopAll() {
        all.values().forEach(e -> e.evacuation().stop());
    }

    ObjectNode json(Evacuating e) {
        ObjectNode o = JSON.createObjectNode().put("id", e.id()).put("kind", "evacuation").put("node", node)
                .put("status", e.status()).put("started", e.startedMs()).put("all", e.settings().all())
                .put("parallel", e.settings().parallel()).put("cluster_limit", e.settings().clusterLimit());
        o.set("to", JSON.valueToTree(e.settings().to()));
        if (e.result().isDone()) {
            if (e.result().isCompletedExceptionally()) {
                o.put("error", e.result().handle((r, t) -> t.getCause() != null ? t.getCause().toString()
                        : t.toString()).join());
            } else {
                o.set("result", e.result().join());
            }
        }
        return o;
    }

    private final class ThisNode implements Evacuation.Source {
        @Override
        public JsonNode vms() {
            return migrations.vms();
        }

        @Override
        public String migrate(ObjectNode request) throws Evacuation.Refused {
            try {
                return migrations.start(request).id();
            } catch (RuntimeException e) { // a prepare's refusal, a lock, a bad target: as the route would answer
                throw new Evacuation.Refused(e.getMessage());
            }
        }

        @Override
        public JsonNode plan(ObjectNode request) throws Evacuation.Refused {
            try {
                return migrations.plan(request);
            } catch (ferry.migration.MigrationRefused e) { // the route's 409: prepare's refusal
                throw new Evacuation.Refused(e.getMessage());
            } catch (ferry.cluster.ClusterException e) {
                if (e.reason() == ferry.cluster.ClusterException.Reason.IO) {
                    throw e; // a plan that could not be made, not a refusal
                }
                throw new Evacuation.Refused(e.getMessage());
            }
        }

        @Override
        public Evacuation.Ended await(String taskId) {
            Task t = tasks.get(taskId).orElseThrow(() -> new Evacuation.Lost("task " + taskId + " is gone"));
            try {
                MigrationResult r = t.result().get();
                return new Evacuation.Ended(r.status().wire(), r.downtimeMs(), r.durationMs(), r.error());
            } catch (ExecutionException e) {
                return new Evacuation.Ended("failed", null, System.currentTimeMillis() - t.startedMs(),
                        e.getCause().toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Evacuation.Lost("stopped following task " + taskId + "; it goes on ('ferry task log "
                        + taskId + "')");
            }
        }
    }
}
