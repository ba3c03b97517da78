package ferry.agent.evacuate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import ferry.agent.ApiJson;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
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
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Moves every VM off one node: live for running ones, offline for stopped ones with --all. It
 * runs in the CLI ({@code ferry node evacuate}) or in the node's own agent (an evacuation task,
 * started from the web UI) and drives the source's migration tasks, the same tasks {@code ferry
 * migrate} starts: each migration keeps its own journal, recovery and cancel, and an evacuation
 * that dies leaves nothing half-done that a second run would not pick up (a VM that moved is no
 * longer the node's; one that is moving is locked by a running task, which the next run waits
 * for). Slots: at most {@code parallel} migrations from the node and {@code clusterLimit} in the
 * whole cluster, counted from the agents' running tasks (other people's migrations included).
 */
public final class Evacuation {
    /** What an evacuation was asked to do; {@code request} carries the migration options for every VM. */
    public record Settings(String node, List<String> to, boolean all, int parallel, int clusterLimit,
                           Duration lockWait, ObjectNode request) {}

    /** Where progress goes: a line for people and the same as a JSON event. */
    public interface Progress {
        void report(String line, ObjectNode event);
    }

    /**
     * The node being emptied, as the evacuation sees it: the CLI reaches it over HTTPS with the
     * admin's certificate, its own agent calls itself in-process.
     */
    public interface Source {
        /** Every VM of the cluster as {@code GET /api/v1/vms} lists them on the source (its own with their status). */
        JsonNode vms();

        /** Starts a migration ({@code POST /api/v1/migrations}'s body) and returns its task id. */
        String migrate(ObjectNode request) throws Refused;

        /**
         * The plan of a migration as {@code POST /api/v1/vms/{vmid}/plan} answers it (the same body,
         * vmid included); throws {@link Refused} with prepare's refusal, anything else when no plan
         * could be made.
         */
        JsonNode plan(ObjectNode request) throws Refused;

        /** Waits for the task to end; throws {@link Lost} when its outcome cannot be known now. */
        Ended await(String taskId);
    }

    /** How one migration task ended: its outcome, QEMU's downtime, its duration and error if any. */
    public record Ended(String status, Long downtimeMs, long durationMs, String error) {}

    /** The source's prepare refused a migration to this target (the next one is asked). */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message);
        }
    }

    /** Contact with the migration's task was lost: the migration may go on, its outcome is unknown here. */
    public static final class Lost extends RuntimeException {
        public Lost(String message) {
            super(message);
        }
    }

    private static final Duration POLL = Duration.ofMillis(500);

    private final ClusterStore store;
    private final Settings settings;
    private final Function<String, AgentClient> agents;
    private final Progress progress;
    private final EvacuationTargets targets;
    private final Source source;
    /** Set by {@link #stop}: no further VM is started; those under way are followed to their end. */
    private volatile boolean stopping;

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

    /**
     * A VM whose turn came: it is planned, offered to its targets and followed in a thread of its
     * own, so that planning (a second or two per target) takes one of its node's slots and not
     * the whole evacuation's time. {@code target} and {@code task} are set once a target took it.
     */
    private static final class InFlight {
        final Pending vm;
        volatile String target;
        volatile String task;
        Future<EvacuationRow> row;

        InFlight(Pending vm) {
            this.vm = vm;
        }
    }

    /** Seconds each target's plan samples the guest's dirty rate (the migrate dialog's figure too). */
    static final int PLAN_SAMPLE_SECONDS = 1;

    /**
     * @param agents a client for each node's agent (the admin's in the CLI, the node's own
     *               certificate in an agent: it reads its peers' running tasks and memory only)
     */
    public Evacuation(ClusterStore store, Source source, Function<String, AgentClient> agents, Settings settings,
                      Progress progress) {
        this.store = store;
        this.settings = settings;
        this.agents = agents;
        this.progress = progress;
        this.source = source;
        this.targets = new EvacuationTargets(store, settings.node(), settings.to(), agents);
    }

    /** No further VM is started; the ones under way are followed to their end, the rest get {@code not-started}. */
    public void stop() {
        stopping = true;
    }

    /** Runs to the end (every VM moved, failed or skipped) and returns one row per VM, by vmid. */
    public List<EvacuationRow> run() throws InterruptedException {
        List<EvacuationRow> rows = new ArrayList<>();
        Deque<Pending> queue = new ArrayDeque<>();
        for (JsonNode vm : source.vms()) {
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
            if (stopping && !queue.isEmpty()) {
                notStarted(queue, rows);
            }
            boolean started = false;
            if (!queue.isEmpty() && inFlight.size() < settings.parallel()) {
                List<JsonNode> running = runningTasks();
                // VMs of this run still being planned have no task yet: they count as migrations already
                long planning = inFlight.stream().filter(f -> f.task == null).count();
                long fromHere = planning
                        + running.stream().filter(t -> t.path("source").asText().equals(settings.node())).count();
                if (fromHere < settings.parallel() && running.size() + planning < settings.clusterLimit()) {
                    Set<String> runningIds = running.stream().map(t -> t.path("id").asText()).collect(Collectors.toSet());
                    Optional<Pending> next = nextReady(queue, runningIds, rows);
                    if (next.isPresent()) {
                        InFlight f = new InFlight(next.get());
                        f.row = followers.submit(() -> send(f));
                        inFlight.add(f);
                        started = true;
                    }
                    lastWait = null;
                } else {
                    String why = fromHere >= settings.parallel()
                            ? fromHere + " migration(s) already run from node " + settings.node()
                            : running.size() + planning + " migration(s) already run in the cluster";
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

    /** Every migration running in the cluster, asked of each agent (one that does not answer runs none we can count). */
    private List<JsonNode> runningTasks() {
        List<JsonNode> running = new ArrayList<>();
        for (String n : store.currentConfig().nodeNames()) {
            try {
                agents.apply(n).get("/api/v1/tasks?status=running").forEach(running::add);
            } catch (AgentClient.AgentException e) {
                // its migrations, if any, cannot be counted; its own agent's limits still hold there
            }
        }
        return running;
    }

    private void notStarted(Deque<Pending> queue, List<EvacuationRow> rows) {
        for (Pending p : queue) {
            EvacuationRow r = EvacuationRow.notSent(p.vmid, p.name, p.online, "not-started", null,
                    "the evacuation was stopped before its turn; run it again to move it");
            rows.add(r);
            report("VM " + p.vmid + ": not started (the evacuation was stopped)", event("ended").setAll(r.json()));
        }
        queue.clear();
    }

    /** Moves the rows of the VMs whose turn ended from {@code inFlight} to {@code rows}. */
    private void harvest(List<InFlight> inFlight, List<EvacuationRow> rows) throws InterruptedException {
        for (Iterator<InFlight> it = inFlight.iterator(); it.hasNext(); ) {
            InFlight f = it.next();
            if (!f.row.isDone()) {
                continue;
            }
            it.remove();
            if (f.task != null) {
                targets.arrived(f.target, f.vm.memoryBytes);
            }
            EvacuationRow r;
            try {
                r = f.row.get();
            } catch (java.util.concurrent.ExecutionException e) {
                r = f.task == null
                        ? EvacuationRow.notSent(f.vm.vmid, f.vm.name, f.vm.online, "not-started", null,
                                "could not be offered to a target: " + e.getCause() + "; run the evacuation again")
                        // the task may well go on: this run only lost sight of it
                        : EvacuationRow.notSent(f.vm.vmid, f.vm.name, f.vm.online, "unknown", f.target,
                                "could not follow its migration any more: " + e.getCause().getMessage()
                                        + "; 'ferry task list' shows how it ended");
            }
            rows.add(r);
            if (r.task() == null) {
                report("VM " + r.vmid() + ": " + r.outcome() + ": " + r.error(), event("ended").setAll(r.json()));
                continue;
            }
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

    /**
     * In a follower thread: offers the VM to its targets in the order their plans give (see
     * {@link TargetPlans}) until one's prepare accepts it, and follows that migration to its end;
     * a VM all refuse gets its row without a task.
     */
    private EvacuationRow send(InFlight f) {
        Pending p = f.vm;
        EvacuationTargets.Choice choice = targets.order();
        TargetPlans.Ranking ranking = p.online ? plan(p, choice.nodes())
                : TargetPlans.byMemory(choice.nodes(), "a stopped VM has no plan to compare");
        Map<String, String> refusals = new LinkedHashMap<>(ranking.refusals());
        for (String target : ranking.order()) {
            if (stopping) {
                return EvacuationRow.notSent(p.vmid, p.name, p.online, "not-started", null,
                        "the evacuation was stopped before its turn; run it again to move it");
            }
            String id;
            try {
                id = source.migrate(request(p, target));
            } catch (Refused e) {
                refusals.put(target, e.getMessage());
                continue;
            }
            long startedAt = System.currentTimeMillis();
            targets.sending(target, p.memoryBytes);
            f.target = target;
            f.task = id;
            String placement = ranking.placements().get(target);
            report("VM " + p.vmid + " -> " + target + ": started (" + (p.online ? "live" : "offline") + ", task " + id
                    + "; " + placement + ")", event("started").put("vmid", p.vmid).put("target", target)
                    .put("task", id).put("online", p.online).put("placement", placement));
            return follow(p, target, id, startedAt).placed(placement, refusals);
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
        return EvacuationRow.notSent(p.vmid, p.name, p.online, outcome, null, why).placed(null, refusals);
    }

    /** The migration request of one VM to one target: the evacuation's options with the VM's own fields. */
    private ObjectNode request(Pending p, String target) {
        return settings.request().deepCopy().put("vmid", p.vmid).put("target", target).put("online", p.online);
    }

    /**
     * One plan per candidate for a running VM, asked once when its turn comes (a second or two
     * each: the guest's dirty rate is sampled, the link probed unless a bandwidth limit is set).
     */
    private TargetPlans.Ranking plan(Pending p, List<String> candidates) {
        Map<String, TargetPlans.Verdict> verdicts = new LinkedHashMap<>();
        for (String target : candidates) {
            TargetPlans.Verdict v;
            try {
                v = TargetPlans.Verdict.planned(source.plan(request(p, target).put("sample_seconds",
                        PLAN_SAMPLE_SECONDS)));
            } catch (Refused e) {
                v = TargetPlans.Verdict.refused(e.getMessage());
            } catch (RuntimeException e) {
                v = TargetPlans.Verdict.failed(String.valueOf(e.getMessage()));
            }
            verdicts.put(target, v);
        }
        TargetPlans.Ranking r = TargetPlans.rank(candidates, verdicts);
        List<String> said = new ArrayList<>();
        var planned = ApiJson.MAPPER.createArrayNode();
        r.placements().forEach((n, how) -> {
            said.add(n + ": " + how);
            planned.addObject().put("node", n).put("placement", how);
        });
        r.refusals().forEach((n, why) -> {
            said.add(n + " refused: " + why);
            planned.addObject().put("node", n).put("refusal", why);
        });
        if (!candidates.isEmpty()) {
            report("VM " + p.vmid + ": targets in order " + (r.order().isEmpty() ? "(none)" : String.join(", ", r.order()))
                    + "; " + String.join("; ", said), event("planned").put("vmid", p.vmid).set("targets", planned));
        }
        return r;
    }

    /** Follows one migration task to its end and makes its row. */
    private EvacuationRow follow(Pending p, String target, String id, long startedAt) {
        Ended e;
        try {
            e = source.await(id);
        } catch (Lost lost) {
            return new EvacuationRow(p.vmid, p.name, p.online, target, "unknown", null, null, id, startedAt,
                    System.currentTimeMillis(), lost.getMessage(), null, null);
        }
        return new EvacuationRow(p.vmid, p.name, p.online, target, e.status(), e.downtimeMs(), e.durationMs(), id,
                startedAt, System.currentTimeMillis(), e.error(), null, null);
    }

    private void report(String line, ObjectNode event) {
        synchronized (progress) {
            progress.report(line, event);
        }
    }

    private ObjectNode event(String kind) {
        return ApiJson.MAPPER.createObjectNode().put("event", kind).put("node", settings.node())
                .put("time", System.currentTimeMillis());
    }

    private static String seconds(long ms) {
        return String.format(java.util.Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
