package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import java.io.PrintWriter;
import java.io.Writer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * Moves every VM off one node: live for running ones, offline for stopped ones with --all. It
 * runs in the CLI and drives the source agent's migration tasks, the same tasks {@code ferry
 * migrate} starts: each migration keeps its own journal, recovery and cancel, and an evacuation
 * whose CLI dies leaves nothing half-done that a second run would not pick up (a VM that moved is
 * no longer the node's; one that is moving is locked by a running task, which the next run waits
 * for). Slots: at most {@code parallel} migrations from the node and {@code clusterLimit} in the
 * whole cluster, counted from the agents' running tasks (other people's migrations included).
 */
final class Evacuation {
    /** What an evacuation was asked to do; {@code request} carries the migration options for every VM. */
    record Settings(String node, List<String> to, boolean all, int parallel, int clusterLimit, Duration lockWait,
                    Duration reconnectWait, ObjectNode request) {}

    /** Where progress goes: a line for people and the same as a JSON event. */
    interface Progress {
        void report(String line, ObjectNode event);
    }

    private static final Duration POLL = Duration.ofMillis(500);

    private final ClusterStore store;
    private final Settings settings;
    private final Map<String, AgentClient> agents;
    private final Progress progress;
    private final EvacuationTargets targets;
    private final AgentClient source;

    /** One VM still to be dealt with; {@code waitingSince} is set while a running task holds its lock. */
    private static final class Pending {
        final int vmid;
        final String name;
        final long memoryBytes;
        final boolean online;
        long waitingSince;

        Pending(int vmid, String name, long memoryBytes, boolean online) {
            this.vmid = vmid;
            this.name = name;
            this.memoryBytes = memoryBytes;
            this.online = online;
        }
    }

    private record InFlight(Pending vm, String target, Future<EvacuationRow> row) {}

    Evacuation(ClusterStore store, Map<String, AgentClient> agents, Settings settings, Progress progress) {
        this.store = store;
        this.settings = settings;
        this.agents = agents;
        this.progress = progress;
        this.source = agents.get(settings.node());
        this.targets = new EvacuationTargets(store, settings.node(), settings.to(), agents::get);
    }

    /** Runs to the end (every VM moved, failed or skipped) and returns one row per VM, by vmid. */
    List<EvacuationRow> run() throws InterruptedException {
        List<EvacuationRow> rows = new ArrayList<>();
        Deque<Pending> queue = new ArrayDeque<>();
        for (JsonNode vm : source.get("/api/v1/vms")) {
            if (!vm.path("owner").asText().equals(settings.node())) {
                continue;
            }
            boolean stopped = vm.path("status").asText().equals("stopped");
            Pending p = new Pending(vm.path("vmid").asInt(), vm.path("name").asText(),
                    vm.path("config").path("memory").asLong() << 20, !stopped);
            if (stopped && !settings.all()) {
                rows.add(EvacuationRow.notSent(p.vmid, p.name, false, "skipped", null,
                        "stopped; --all moves stopped VMs too (offline)"));
            } else {
                queue.add(p);
            }
        }
        report("node " + settings.node() + ": in maintenance; " + queue.size() + " VM(s) to move"
                + (rows.isEmpty() ? "" : ", " + rows.size() + " stopped left (no --all)") + "; at most "
                + settings.parallel() + " at a time from " + settings.node() + ", " + settings.clusterLimit()
                + " in the cluster", event("start").put("to_move", queue.size()).put("skipped", rows.size()));
        ExecutorService followers = Executors.newFixedThreadPool(settings.parallel());
        try {
            loop(queue, rows, followers);
        } finally {
            followers.shutdownNow();
        }
        rows.sort(java.util.Comparator.comparingInt(EvacuationRow::vmid));
        return rows;
    }

    private void loop(Deque<Pending> queue, List<EvacuationRow> rows, ExecutorService followers)
            throws InterruptedException {
        List<InFlight> inFlight = new ArrayList<>();
        String lastWait = null;
        while (!queue.isEmpty() || !inFlight.isEmpty()) {
            harvest(inFlight, rows);
            boolean started = false;
            if (!queue.isEmpty() && inFlight.size() < settings.parallel()) {
                List<JsonNode> running = ClusterTasks.askRunning(agents::get, List.copyOf(agents.keySet())).running();
                long fromHere = running.stream().filter(t -> t.path("source").asText().equals(settings.node())).count();
                if (fromHere < settings.parallel() && running.size() < settings.clusterLimit()) {
                    Set<String> runningIds = running.stream().map(t -> t.path("id").asText()).collect(Collectors.toSet());
                    Optional<Pending> next = nextReady(queue, runningIds, rows);
                    if (next.isPresent()) {
                        start(next.get(), followers, inFlight, rows);
                        started = true;
                    }
                    lastWait = null;
                } else {
                    String why = fromHere >= settings.parallel()
                            ? fromHere + " migration(s) already run from node " + settings.node()
                            : running.size() + " migration(s) already run in the cluster";
                    if (!why.equals(lastWait)) {
                        report("waiting for a slot: " + why, event("waiting").put("reason", why));
                        lastWait = why;
                    }
                }
            }
            if (!started) {
                Thread.sleep(POLL.toMillis());
            }
        }
    }

    /** Moves the rows of ended migrations from {@code inFlight} to {@code rows}. */
    private void harvest(List<InFlight> inFlight, List<EvacuationRow> rows) throws InterruptedException {
        for (Iterator<InFlight> it = inFlight.iterator(); it.hasNext(); ) {
            InFlight f = it.next();
            if (!f.row().isDone()) {
                continue;
            }
            it.remove();
            targets.arrived(f.target(), f.vm().memoryBytes);
            EvacuationRow r;
            try {
                r = f.row().get();
            } catch (java.util.concurrent.ExecutionException e) {
                // the task may well go on: this run only lost sight of it
                r = EvacuationRow.notSent(f.vm().vmid, f.vm().name, f.vm().online, "unknown", f.target(),
                        "could not follow its migration any more: " + e.getCause().getMessage()
                                + "; 'ferry task list' shows how it ended");
            }
            rows.add(r);
            report("VM " + r.vmid() + " -> " + r.target() + ": " + r.outcome()
                    + (r.durationMs() != null ? " in " + seconds(r.durationMs()) : "")
                    + (r.downtimeMs() != null ? ", downtime " + r.downtimeMs() + " ms" : "")
                    + (r.error() != null ? ": " + r.error() : ""), event("ended").setAll(r.json()));
        }
    }

    /**
     * The first queued VM that can go now. On the way it settles the ones that need no migration
     * (moved or deleted meanwhile), fails the ones held by a lock no running task holds, and keeps
     * waiting for those a running task holds (up to --lock-wait).
     */
    private Optional<Pending> nextReady(Deque<Pending> queue, Set<String> runningIds, List<EvacuationRow> rows) {
        for (Iterator<Pending> it = queue.iterator(); it.hasNext(); ) {
            Pending p = it.next();
            Optional<VmRecord> rec = store.vm(p.vmid);
            if (rec.isEmpty() || !rec.get().owner().equals(settings.node())) {
                it.remove();
                String owner = rec.map(VmRecord::owner).orElse(null);
                EvacuationRow r = EvacuationRow.notSent(p.vmid, p.name, p.online, "already-moved", owner,
                        owner == null ? "deleted meanwhile" : "moved to node " + owner + " by another task");
                rows.add(r);
                report("VM " + p.vmid + ": " + r.error(), event("ended").setAll(r.json()));
                continue;
            }
            VmRecord r = rec.get();
            if (!r.locked()) {
                it.remove();
                return Optional.of(p);
            }
            String holder = r.lockHolder() == null ? null : r.lockHolder().task();
            long now = System.currentTimeMillis();
            if (holder != null && runningIds.contains(holder) && (p.waitingSince == 0
                    || now - p.waitingSince < settings.lockWait().toMillis())) {
                if (p.waitingSince == 0) {
                    p.waitingSince = now;
                    report("VM " + p.vmid + ": locked by running task " + holder + "; waiting for it to end (at most "
                            + settings.lockWait().toSeconds() + " s)", event("locked").put("vmid", p.vmid)
                            .put("task", holder));
                }
                continue;
            }
            it.remove();
            String why = holder != null && runningIds.contains(holder)
                    ? "still locked by running task " + holder + " after " + settings.lockWait().toSeconds()
                            + " s; run the evacuation again once it ended ('ferry task log " + holder + "')"
                    : "locked (" + r.lock() + ")" + (holder != null ? " by task " + holder + ", which no longer runs"
                            : "") + "; see 'ferry vm status " + p.vmid + "', then 'ferry vm unlock " + p.vmid
                            + "' if nothing works on it, and run the evacuation again";
            EvacuationRow row = EvacuationRow.notSent(p.vmid, p.name, p.online, "locked", null, why);
            rows.add(row);
            report("VM " + p.vmid + ": " + why, event("ended").setAll(row.json()));
        }
        return Optional.empty();
    }

    /** Asks the targets in order until one's prepare accepts the VM; a VM all refuse gets its row now. */
    private void start(Pending p, ExecutorService followers, List<InFlight> inFlight, List<EvacuationRow> rows) {
        EvacuationTargets.Choice choice = targets.order();
        Map<String, String> refusals = new LinkedHashMap<>();
        for (String target : choice.nodes()) {
            ObjectNode req = settings.request().deepCopy().put("vmid", p.vmid).put("target", target)
                    .put("online", p.online);
            JsonNode task;
            try {
                task = source.migrate(req);
            } catch (AgentClient.AgentException e) {
                refusals.put(target, e.getMessage());
                continue;
            }
            String id = task.path("id").asText();
            long startedAt = System.currentTimeMillis();
            targets.sending(target, p.memoryBytes);
            report("VM " + p.vmid + " -> " + target + ": started (" + (p.online ? "live" : "offline") + ", task " + id
                    + ")", event("started").put("vmid", p.vmid).put("target", target).put("task", id)
                    .put("online", p.online));
            inFlight.add(new InFlight(p, target, followers.submit(() -> follow(p, target, id, startedAt))));
            return;
        }
        String why;
        String outcome;
        if (refusals.isEmpty()) {
            outcome = "no-target";
            why = "no node to move it to" + (choice.excluded().isEmpty() ? ""
                    : " (" + String.join("; ", choice.excluded()) + ")")
                    + "; resume a node or add one, then run the evacuation again";
        } else {
            outcome = "refused";
            why = refusals.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue())
                    .collect(Collectors.joining("; "));
        }
        EvacuationRow r = EvacuationRow.notSent(p.vmid, p.name, p.online, outcome, null, why);
        rows.add(r);
        report("VM " + p.vmid + ": " + outcome + ": " + why, event("ended").setAll(r.json()));
    }

    /** Follows one migration task to its end (waiting for its agent if it restarts) and makes its row. */
    private EvacuationRow follow(Pending p, String target, String id, long startedAt) {
        JsonNode done;
        try {
            done = new TaskFollower(source, settings.node(), id, new PrintWriter(Writer.nullWriter()), false, true)
                    .reconnect(settings.reconnectWait(), new PrintWriter(Writer.nullWriter())).follow();
        } catch (OutcomeUnknown e) {
            return new EvacuationRow(p.vmid, p.name, p.online, target, "unknown", null, null, id, startedAt,
                    System.currentTimeMillis(), e.getMessage());
        }
        ObjectNode s = TaskFollower.summary(done);
        return new EvacuationRow(p.vmid, p.name, p.online, target, s.path("status").asText(),
                s.path("downtime_ms").isNumber() ? s.path("downtime_ms").asLong() : null,
                s.path("duration_ms").asLong(), id, startedAt, System.currentTimeMillis(),
                s.hasNonNull("error") ? s.path("error").asText() : null);
    }

    private void report(String line, ObjectNode event) {
        synchronized (progress) {
            progress.report(line, event);
        }
    }

    private ObjectNode event(String kind) {
        return VmCommand.JSON.createObjectNode().put("event", kind).put("node", settings.node())
                .put("time", System.currentTimeMillis());
    }

    private static String seconds(long ms) {
        return String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    /** The nodes of the cluster with an admin's client each. */
    static Map<String, AgentClient> agents(ClusterStore store, ClusterOption cluster) {
        Map<String, AgentClient> m = new LinkedHashMap<>();
        ferry.agent.AgentCredentials admin = ferry.agent.AgentCredentials.admin(cluster.dir);
        store.config().nodes().forEach(n -> m.put(n.name(), new AgentClient(n.agentAddress(), admin)));
        return m;
    }
}
