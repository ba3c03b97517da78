package ferry.migration;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import ferry.cluster.VmRecord;
import ferry.node.LocalNode;
import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.node.Storage;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import ferry.protocol.Commands;
import ferry.protocol.MigrateArgs;
import ferry.protocol.MigrateSetParameters;
import ferry.protocol.MigrationCapability;
import ferry.protocol.MigrationCapabilityStatus;
import ferry.protocol.MigrateSetCapabilitiesArgs;
import ferry.protocol.MachineInfo;
import ferry.protocol.MigrationInfo;
import ferry.protocol.QueryMachinesArgs;
import ferry.protocol.RunState;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpCommandException;
import ferry.qmp.QmpException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import ferry.protocol.MigrationStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * The orchestrator of one migration, run on the source node: prepare, phase 1 (lock, copy local
 * volumes of a stopped VM), phase 2 (live migration of a running VM), phase 3 (hand-over), each
 * with its cleanup, as in the seed. Every step is journaled before it acts.
 */
public final class Migration {
    /** The seed's "unlimited" bandwidth, in MiB/s. */
    public static final int DEFAULT_BWLIMIT_MIB = 8192;
    public static final int DEFAULT_DOWNTIME_MS = 100;
    public static final int DEFAULT_RECOVER_WAIT_S = 300;
    static final long RECOVER_RETRY_MS = 1000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ClusterStore store;
    private final LocalNode local;
    private final Volumes volumes;
    private final Function<String, TargetNode> targets;
    private Duration pollInterval = Duration.ofSeconds(2);

    public Migration(ClusterStore store, LocalNode local, Volumes volumes, Function<String, TargetNode> targets) {
        this.store = store;
        this.local = local;
        this.volumes = volumes;
        this.targets = targets;
    }

    /** How often phase 2 asks QEMU for progress (the seed's 2 s by default). */
    public Migration pollInterval(Duration d) {
        this.pollInterval = d;
        return this;
    }

    /** What a running migration knows; filled as phases proceed. */
    private static final class Run {
        MigrationRequest req;
        final String taskId;
        final TaskLog log;
        final long started = System.nanoTime();
        VmDefinition vm;
        TargetNode target;
        boolean running;
        boolean locked;
        boolean targetStarted;
        boolean pausedByUs;
        final List<VmDefinition.Disk> copied = new ArrayList<>();
        final List<String> problems = new ArrayList<>();
        MigrationInfo stats;
        Phase2Monitor monitor;
        EventSubscription events;
        Plan plan;
        QemuFeatures features;
        boolean postcopy;
        long postcopyActiveNanos;
        long recoverDeadline;
        int recoverAttempts;
        long pausedEndNanos;

        Run(MigrationRequest req, String taskId, TaskLog log) {
            this.req = req;
            this.taskId = taskId;
            this.log = log;
        }

        long elapsedMs() {
            return (System.nanoTime() - started) / 1_000_000;
        }

        /** The bandwidth limit asked for (request, else the VM's), MiB/s; null when none is set. */
        Integer bwlimitMiBps() {
            return req.bwlimitMiBps() != null ? req.bwlimitMiBps() : vm.migration() == null ? null
                    : vm.migration().speedMiBps();
        }

        /** The downtime asked for (request, else the VM's); null leaves it to the policy. */
        Integer downtimeMs() {
            return req.downtimeMs() != null ? req.downtimeMs() : vm.migration() == null ? null
                    : vm.migration().downtimeMs();
        }

        long maxDurationMs(long linkBytesPerS) {
            return req.limits().maxDurationS() != null ? req.limits().maxDurationS() * 1000L
                    : Policies.defaultMaxDurationMs(vm.memoryMiB(), linkBytesPerS);
        }

        /** The model's inputs from what was measured; the working set is taken as all non-zero RAM. */
        Plan plan(GuestProbe.Measured m, double link, String linkSource) {
            long ram = (long) vm.memoryMiB() << 20;
            Integer downtime = downtimeMs();
            MigrationRequest.Limits l = req.limits();
            return Plan.of(new Plan.Inputs(ram, m.zeroShare(), m.dirtyBytesPerS(), (long) (ram * (1 - m.zeroShare())),
                    link, linkSource, downtime != null ? downtime : BudgetPolicy.DEFAULT_BUDGET_MS,
                    maxDurationMs((long) link), l.allowThrottle(), l.allowPostcopy(), l.allowPause()));
        }
    }

    /** A migration that passed prepare: nothing has changed yet. */
    public static final class Prepared {
        private final Run run;

        private Prepared(Run run) {
            this.run = run;
        }

        public MigrationRequest request() {
            return run.req;
        }
    }

    /**
     * Checks everything that can be checked before acting (the seed's prepare): refusals throw
     * {@link MigrationRefused} and change nothing.
     */
    public Prepared prepare(MigrationRequest req, String taskId, TaskLog log) {
        Run r = new Run(req, taskId, log);
        prepare(r);
        return new Prepared(r);
    }

    /** Prepares and runs the migration to its end. */
    public MigrationResult run(MigrationRequest req, String taskId, TaskLog log, CancelSignal cancel) {
        return execute(prepare(req, taskId, log), cancel);
    }

    /** Runs a prepared migration to its end; every failure is cleaned up and reported in the result. */
    public MigrationResult execute(Prepared prepared, CancelSignal cancel) {
        Run r = prepared.run;
        MigrationRequest req = r.req;
        TaskLog log = r.log;
        String taskId = r.taskId;
        log.info("starting migration of VM %d to node '%s' (%s)", req.vmid(), req.target(),
                store.config().node(req.target()).map(NodeInfo::migrationAddress).orElse("?"));
        try {
            cancel.check();
            phase1(r);
            if (r.running) {
                phase2(r, cancel);
            }
            cancel.check();
        } catch (RuntimeException e) {
            MigrationResult.Status status = e instanceof CancelSignal.MigrationCancelled ? MigrationResult.Status.CANCELLED
                    : e instanceof Phase2Monitor.PolicyStop ps ? ps.outcome : MigrationResult.Status.FAILED;
            String what = switch (status) {
                case CANCELLED -> "cancelled: ";
                case NOT_CONVERGED -> "not converged: ";
                case ABORTED -> "aborted by the policy: ";
                default -> "";
            };
            log.error("migration aborted (duration %s): %s%s", Sizes.duration(r.elapsedMs()), what, e.getMessage());
            cleanupBeforeHandOver(r);
            closeEvents(r);
            journal(r, "ended", status.name().toLowerCase(java.util.Locale.ROOT));
            store.closeJournal(taskId);
            return result(r, status, e.getMessage());
        }
        phase3(r);
        closeEvents(r);
        journal(r, "ended", r.problems.isEmpty() ? "completed" : "problems");
        store.closeJournal(taskId);
        if (r.problems.isEmpty()) {
            log.info("migration finished successfully (duration %s)", Sizes.duration(r.elapsedMs()));
            return result(r, MigrationResult.Status.COMPLETED, null);
        }
        log.error("migration finished with problems (duration %s)", Sizes.duration(r.elapsedMs()));
        return result(r, MigrationResult.Status.PROBLEMS, String.join("; ", r.problems));
    }

    // ---- plan: predict without migrating ------------------------------------------------------

    /**
     * Pre-flight: measures the running guest (dirty rate over {@code sample}, zero pages) and the
     * link (the bandwidth limit when one is set, else a short probe to the target), and predicts
     * every strategy. Changes nothing; refusals throw {@link MigrationRefused}.
     */
    public Plan plan(MigrationRequest req, Duration sample) {
        Run r = new Run(req, "plan", new TaskLog());
        prepare(r);
        if (!r.running) {
            throw new MigrationRefused("VM " + req.vmid() + " is stopped on node '" + local.name()
                    + "': an offline migration only copies its volumes, there is nothing to converge");
        }
        QemuProcess src = local.running(req.vmid()).orElseThrow(() ->
                new MigrationRefused("VM " + req.vmid() + " stopped running on node '" + local.name() + "'"));
        Integer limit = r.bwlimitMiBps();
        double link;
        String linkSource;
        if (limit != null) {
            link = (double) limit * 1048576;
            linkSource = "bandwidth limit " + limit + " MiB/s";
        } else {
            link = LinkProbe.measure(r.target.probeSink(), Duration.ofSeconds(1));
            linkSource = "measured by a 1 s probe to node '" + req.target() + "'";
        }
        return r.plan(GuestProbe.measure(src, r.vm.memoryMiB(), sample), link, linkSource);
    }

    // ---- prepare: refuse with a reason, change nothing ------------------------------------------

    private void prepare(Run r) {
        MigrationRequest req = r.req;
        String here = local.name();
        VmRecord rec = store.vm(req.vmid()).orElseThrow(() ->
                new MigrationRefused("VM " + req.vmid() + " does not exist in this cluster"));
        if (!rec.owner().equals(here)) {
            throw new MigrationRefused("VM " + req.vmid() + " is owned by node '" + rec.owner() + "', not by '" + here
                    + "'; run the migration on node '" + rec.owner() + "'");
        }
        if (rec.locked()) {
            throw new MigrationRefused("VM " + req.vmid() + " is locked (" + rec.lock() + ") on node '" + here
                    + "'; wait for that operation to end");
        }
        if (req.target().equals(here)) {
            throw new MigrationRefused("VM " + req.vmid() + " is already on node '" + here + "'; name another target");
        }
        if (store.config().node(req.target()).isEmpty()) {
            throw new MigrationRefused("unknown target node '" + req.target() + "'; the cluster's nodes are "
                    + String.join(", ", store.config().nodeNames()));
        }
        try {
            r.vm = JSON.treeToValue(rec.config(), VmDefinition.class);
        } catch (Exception e) {
            throw new MigrationRefused("VM " + req.vmid() + " has an unreadable definition: " + e.getMessage());
        }
        String policy = req.policy() != null ? req.policy()
                : r.vm.migration() != null && r.vm.migration().policy() != null ? r.vm.migration().policy()
                : MigrationRequest.DEFAULT_POLICY;
        if (!Policies.NAMES.contains(policy)) {
            throw new MigrationRefused(Policies.unknown(policy));
        }
        r.req = r.req.withPolicy(policy);
        Tuning tuning = req.tuning();
        List<String> wrong = new ArrayList<>(tuning.problems());
        if (wrong.isEmpty()) {
            wrong.addAll(tuning.conflicts(policy, req.limits(), Policies.turnsOn(policy, req.limits())));
        }
        if (!wrong.isEmpty()) {
            throw new MigrationRefused("VM " + req.vmid() + ": " + String.join("; ", wrong));
        }
        String overshoot = tuning.multifdOvershoot(r.bwlimitMiBps());
        if (overshoot != null) {
            throw new MigrationRefused("VM " + req.vmid() + ": " + overshoot);
        }
        LocalNode.Status st = local.status(req.vmid());
        r.running = st.state() != LocalNode.State.STOPPED;
        if (r.running && !req.online()) {
            throw new MigrationRefused("VM " + req.vmid() + " is running on node '" + here
                    + "'; use --online to migrate it live, or stop it first");
        }
        if (r.running && st.state() != LocalNode.State.RUNNING && st.state() != LocalNode.State.PAUSED) {
            throw new MigrationRefused("VM " + req.vmid() + " is in state '" + st.qemuStatus() + "' on node '" + here
                    + "'; only a running or paused VM migrates live");
        }
        if (r.running) {
            checkSourceQemu(r, tuning);
        }
        r.target = targets.apply(req.target());
        TargetNode.Info info;
        try {
            info = r.target.probe();
        } catch (RuntimeException e) {
            throw new MigrationRefused("target node '" + req.target() + "' does not answer: " + e.getMessage());
        }
        for (VmDefinition.Disk d : r.vm.disks()) {
            Storage s = local.storages().get(d.storage());
            if (s == null) {
                throw new MigrationRefused("storage '" + d.storage() + "' of volume '" + d.volume()
                        + "' does not exist on node '" + here + "'");
            }
            if (!info.storages().contains(d.storage())) {
                throw new MigrationRefused("storage '" + d.storage() + "' of volume '" + d.volume()
                        + "' does not exist on target node '" + req.target() + "'");
            }
            if (s.shared()) {
                continue;
            }
            if (r.running) {
                throw new MigrationRefused("VM " + req.vmid() + " runs with local volume '" + d.volume() + "' on storage '"
                        + d.storage() + "'; live migration with local disks is not supported yet: stop the VM for an "
                        + "offline migration, or move the volume to shared storage");
            }
            if (volumes.info(s.volumePath(d.volume())).isLinkedClone()) {
                throw new MigrationRefused("can't migrate volume '" + d.volume() + "': it is a linked clone");
            }
        }
        String mine = local.qemu().version();
        if (compareVersions(info.qemuVersion(), mine) < 0) {
            throw new MigrationRefused("target node '" + req.target() + "' runs QEMU " + info.qemuVersion()
                    + ", older than QEMU " + mine + " here; a migration may only go to the same or a newer QEMU");
        }
    }

    /** Refuses tuning the source QEMU cannot do, asking that QEMU (not its version number). */
    private void checkSourceQemu(Run r, Tuning tuning) {
        QemuProcess src = local.running(r.req.vmid()).orElseThrow(() ->
                new MigrationRefused("VM " + r.req.vmid() + " stopped running on node '" + local.name() + "'"));
        r.features = QemuFeatures.of(src, local.name(), local.qemu().version(), tuning.compressed());
        List<String> lacks = r.features.lacks(tuning);
        if (!lacks.isEmpty()) {
            throw new MigrationRefused(String.join("; ", lacks) + "; drop those options or upgrade QEMU there");
        }
        if ("dirty-limit".equals(tuning.throttle())) {
            String why = QemuFeatures.dirtyLimitProblem(src);
            if (why != null) {
                throw new MigrationRefused("VM " + r.req.vmid() + " on node '" + local.name()
                        + "' cannot be throttled with dirty-limit: " + why + "; use --throttle auto-converge");
            }
        }
    }

    static int compareVersions(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        for (int i = 0; i < Math.max(x.length, y.length); i++) {
            int p = i < x.length ? Integer.parseInt(x[i]) : 0;
            int q = i < y.length ? Integer.parseInt(y[i]) : 0;
            if (p != q) {
                return Integer.compare(p, q);
            }
        }
        return 0;
    }

    // ---- phase 1: lock, copy local volumes of a stopped VM --------------------------------------

    private void phase1(Run r) {
        journal(r, "phase1", "lock");
        try {
            store.lock(r.req.vmid(), local.name(), "migrate");
        } catch (ClusterException e) {
            throw new MigrationRefused(e.getMessage());
        }
        r.locked = true;
        if (r.running) {
            return;
        }
        for (VmDefinition.Disk d : r.vm.disks()) {
            Storage s = local.storages().get(d.storage());
            if (s.shared()) {
                continue;
            }
            Path from = s.volumePath(d.volume());
            journal(r, "phase1", "copy " + d.storage() + ":" + d.volume());
            r.log.info("copying volume '%s:%s' (%s) to node '%s'", d.storage(), d.volume(),
                    Sizes.bytes(from.toFile().length()), r.req.target());
            r.copied.add(d); // before the copy: a partial copy is freed in cleanup too
            r.target.receiveVolume(d, from, r.req.bwlimitMiBps());
        }
    }

    // ---- phase 2: live migration ----------------------------------------------------------------

    private void phase2(Run r, CancelSignal cancel) {
        int vmid = r.req.vmid();
        QemuProcess src = local.running(vmid).orElseThrow(() ->
                new NodeException("VM " + vmid + " stopped running on node '" + local.name() + "'"));
        var qmp = src.qmp();
        long bw = (long) (r.bwlimitMiBps() != null ? r.bwlimitMiBps() : DEFAULT_BWLIMIT_MIB) << 20;
        MigrationRequest.Limits limits = r.req.limits();
        Tuning tuning = r.req.tuning();
        long maxDurationMs = r.maxDurationMs(bw);
        Set<String> srcCaps = r.features.capabilities();
        ConvergencePolicy policy = Policies.create(r.req.policy(), new Policies.Context(r.vm.memoryMiB(), r.vm.vcpus(), bw,
                r.downtimeMs(), maxDurationMs, limits, srcCaps, srcCaps, useDirtyLimit(r, src)));
        ConvergencePolicy.Setup setup = policy.setup();
        for (var c : setup.capabilities().entrySet()) {
            if (c.getValue() && !srcCaps.contains(c.getKey())) {
                throw new MigrationRefused("policy " + policy.name() + " needs migration capability '" + c.getKey()
                        + "', which QEMU " + local.qemu().version() + " on node '" + local.name() + "' lacks");
            }
        }
        r.pausedByUs = qmp.call(Commands.QUERY_STATUS).status() == RunState.RUNNING;
        r.plan = predict(r, src, bw);
        long cache = StreamSetup.xbzrleCacheFor(r.plan, r.vm.memoryMiB());
        StreamSetup stream = StreamSetup.of(setup, tuning, r.features, cache);
        if (stream.sourceCaps().getOrDefault("xbzrle", false) && tuning.xbzrleCacheMiB() == null
                && !setup.parameters().has("xbzrle-cache-size")) {
            policy = new XbzrleSizing(policy, cache, (long) r.vm.memoryMiB() << 20);
        }
        if (tuning.multifd()) {
            policy = new BandwidthGuard(policy, bw);
        }
        Map<String, Boolean> caps = new LinkedHashMap<>(stream.sourceCaps());
        // before the target starts: a combination QEMU refuses stops here, with nothing to undo
        try {
            qmp.execute("migrate-set-capabilities", StreamSetup.capabilityArgs(caps));
            qmp.execute("migrate-set-parameters", stream.sourceParams());
        } catch (QmpCommandException e) {
            throw new MigrationRefused("QEMU on node '" + local.name() + "' refused the migration settings: "
                    + e.description());
        }
        VmDefinition pinned = pinMachine(r, src);
        journal(r, "phase2", "start incoming on " + r.req.target());
        r.targetStarted = true;
        TargetNode.Endpoint ep = r.target.startIncoming(pinned, stream.targetCaps(), stream.targetParams());
        r.log.info("starting VM %d on remote node '%s', listening at %s", vmid, r.req.target(), ep.uri());
        for (String c : stream.targetCaps()) {
            if (ep.capabilities().contains(c)) {
                continue;
            }
            if (c.equals("postcopy-preempt")) {
                caps.put(c, false);
                qmp.execute("migrate-set-capabilities", StreamSetup.capabilityArgs(Map.of(c, false)));
                r.log.info("target node '%s' lacks postcopy-preempt: postcopy runs without it", r.req.target());
            } else {
                throw new NodeException("migration capability '" + c + "' is missing on target node '"
                        + r.req.target() + "'; its QEMU is too old for it");
            }
        }
        r.log.info("%s", setup.summary());
        if (!stream.summary().isEmpty()) {
            r.log.info("%s", stream.summary());
        }
        journal(r, "phase2", "migrate to " + ep.uri());
        r.events = qmp.subscribe("MIGRATION");
        long firstLimit = setup.parameters().has("downtime-limit") ? setup.parameters().path("downtime-limit").asLong()
                : qmp.call(Commands.QUERY_MIGRATE_PARAMETERS).downtimeLimit().longValue();
        r.monitor = new Phase2Monitor(qmp, r.events, r.log, cancel, pollInterval, policy, firstLimit);
        if (tuning.pauseBeforeSwitchover()) {
            r.monitor.beforeSwitchover(() -> checkBeforeSwitchover(r, cancel));
        }
        qmp.call(Commands.MIGRATE, MigrateArgs.builder().uri(ep.uri()).build());
        r.stats = r.monitor.follow();
        if (r.stats.status() == MigrationStatus.POSTCOPY_ACTIVE) {
            r.postcopy = true;
            r.postcopyActiveNanos = System.nanoTime();
            r.log.info("migration status: postcopy-active; the target takes over and pulls the rest");
            return;
        }
        r.log.info("migration status: completed");
        logFinal(r);
    }

    /**
     * Throttling with dirty-limit needs the budget policy with --allow-throttle, and a host that
     * can (KVM dirty rings); "auto" falls back to auto-converge and says why.
     */
    private boolean useDirtyLimit(Run r, QemuProcess src) {
        String how = r.req.tuning().throttle();
        if (!r.req.policy().equals("budget") || !r.req.limits().allowThrottle() || "auto-converge".equals(how)) {
            return false;
        }
        String why = QemuFeatures.dirtyLimitProblem(src);
        if (why != null) {
            r.log.info("throttle: auto-converge, because dirty-limit is unavailable on node '%s': %s", local.name(), why);
        }
        return why == null;
    }

    /** The last moment to turn back: the source is stopped at pre-switchover, the target not yet running. */
    private void checkBeforeSwitchover(Run r, CancelSignal cancel) {
        cancel.check();
        try {
            r.target.probe();
        } catch (RuntimeException e) {
            throw new Phase2Monitor.MigrationFailed("target node '" + r.req.target() + "' stopped answering at the "
                    + "switch-over (" + e.getMessage() + "); the VM stays on node '" + local.name() + "'");
        }
    }

    private void logFinal(Run r) {
        if (r.stats.downtime() != null) {
            r.log.info("migration downtime %d ms", r.stats.downtime());
        }
        if (r.stats.ram() != null) {
            r.log.info("migration transferred %s in %d ms", Sizes.bytes(r.stats.ram().transferred()),
                    r.stats.totalTime());
        }
        if (r.plan != null && r.stats.totalTime() != null) {
            Plan.Prediction p = r.plan.forPolicy(r.req.policy());
            if (p != null) {
                r.log.info("planner: predicted %.1f s / %.0f ms downtime, measured %.1f s / %s ms downtime", p.seconds(),
                        p.downtimeMs(), r.stats.totalTime() / 1000.0, r.stats.downtime());
            }
        }
    }

    /** Measures the guest and predicts every strategy; a failed measurement only costs the prediction. */
    private Plan predict(Run r, QemuProcess src, long bw) {
        if (!r.pausedByUs) {
            return null; // a paused guest dirties nothing: nothing to predict
        }
        try {
            GuestProbe.Measured m = GuestProbe.measure(src, r.vm.memoryMiB(), Duration.ofSeconds(1));
            Plan plan = r.plan(m, bw, "bandwidth limit");
            Plan.Prediction p = plan.forPolicy(r.req.policy());
            r.log.info("planner: dirty rate %s/s, %.0f%% zero pages, link %s/s -> %s: %s, %d passes, %.1f s, "
                    + "downtime %.0f ms (measured in %d ms)", Sizes.bytes((long) m.dirtyBytesPerS()), m.zeroShare() * 100,
                    Sizes.bytes(bw), p.strategy(), p.converges() ? "converges" : "does not converge", p.passes(),
                    p.seconds(), p.downtimeMs(), m.took().toMillis());
            return plan;
        } catch (RuntimeException e) {
            r.log.info("planner: could not measure the guest (%s); migrating without a prediction", e.getMessage());
            return null;
        }
    }

    static Set<String> capabilities(QemuProcess q) {
        Set<String> has = new TreeSet<>();
        // raw JSON: capabilities newer than the binding have no enum constant
        q.qmp().execute("query-migrate-capabilities", null).forEach(c -> has.add(c.path("capability").asText()));
        return has;
    }

    private static void closeEvents(Run r) {
        if (r.events != null) {
            r.events.close();
            r.events = null;
        }
    }

    /**
     * The target must start the same virtual hardware: a machine alias such as "pc" is resolved to
     * the versioned type the source QEMU runs (e.g. "pc-i440fx-10.0").
     */
    private static VmDefinition pinMachine(Run r, QemuProcess src) {
        VmDefinition vm = r.vm;
        for (MachineInfo m : src.qmp().call(Commands.QUERY_MACHINES, QueryMachinesArgs.builder().build())) {
            if (vm.machine().equals(m.alias())) {
                r.log.info("pinned machine type '%s' (%s), CPU model '%s'", m.name(), vm.machine(), vm.cpu());
                return new VmDefinition(vm.vmid(), vm.name(), vm.memoryMiB(), vm.vcpus(), m.name(), vm.cpu(), vm.boot(),
                        vm.disks(), vm.accel(), vm.migration());
            }
        }
        return vm;
    }

    /** The seed's 10% of RAM, rounded down to the power of two QEMU requires (at least one page). */
    static long xbzrleCache(int memoryMiB) {
        long tenth = (long) memoryMiB * 1024 * 1024 / 10;
        return Math.max(4096, Long.highestOneBit(tenth));
    }

    // ---- cleanup of phases 1 and 2: the VM stays where it was ------------------------------------

    private void cleanupBeforeHandOver(Run r) {
        int vmid = r.req.vmid();
        if (r.running && r.targetStarted) {
            r.log.info("aborting phase 2 - cleanup resources");
            Optional<QemuProcess> src = local.running(vmid);
            if (src.isEmpty()) {
                r.log.error("VM %d is no longer running on node '%s' (its QEMU is gone); it was not migrated",
                        vmid, local.name());
            }
            src.ifPresent(q -> {
                try {
                    r.log.info("migrate_cancel");
                    q.qmp().call(Commands.MIGRATE_CANCEL);
                    waitUntilMigrationEnds(q);
                    // resume only what the migration paused; a VM the user paused stays paused
                    if (r.pausedByUs && q.qmp().call(Commands.QUERY_STATUS).status() != RunState.RUNNING) {
                        q.qmp().call(Commands.CONT);
                        r.log.info("resumed VM %d on node '%s'", vmid, local.name());
                    }
                } catch (QmpException e) {
                    r.log.error("migrate_cancel error: %s", e.getMessage());
                }
            });
            try {
                r.target.stop(vmid);
            } catch (RuntimeException e) {
                r.log.error("could not stop VM %d on target node '%s': %s", vmid, r.req.target(), e.getMessage());
            }
        }
        if (!r.copied.isEmpty()) {
            List<String> left = r.target.freeVolumes(r.copied);
            for (String v : left) {
                r.log.error("could not free volume copy '%s' on node '%s'; remove it by hand", v, r.req.target());
            }
        }
        if (r.locked) {
            try {
                store.unlock(vmid, local.name(), "migrate");
            } catch (ClusterException e) {
                r.log.error("could not drop the migrate lock of VM %d: %s", vmid, e.getMessage());
            }
        }
    }

    private static void waitUntilMigrationEnds(QemuProcess q) {
        for (int i = 0; i < 100; i++) {
            MigrationInfo info = q.qmp().call(Commands.QUERY_MIGRATE);
            if (info.status() == null || switch (info.status()) {
                case ACTIVE, SETUP, CANCELLING, DEVICE, PRE_SWITCHOVER, POSTCOPY_ACTIVE, WAIT_UNPLUG -> false;
                default -> true;
            }) {
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    // ---- phase 3: hand over; after ownership moved nothing is rolled back -------------------------

    private void phase3(Run r) {
        int vmid = r.req.vmid();
        String target = r.req.target();
        journal(r, "phase3", "move ownership to " + target);
        try {
            store.move(vmid, local.name(), target);
        } catch (ClusterException e) {
            // ownership did not move: the VM is still ours, so undo as before hand-over
            r.log.error("could not move VM %d to node '%s': %s", vmid, target, e.getMessage());
            cleanupBeforeHandOver(r);
            r.problems.add("ownership could not move: " + e.getMessage());
            return;
        }
        if (r.running) {
            journal(r, "phase3", "resume on " + target);
            boolean resumed = true;
            try {
                r.target.resume(vmid);
                r.pausedEndNanos = System.nanoTime();
                if (r.postcopy) {
                    // QEMU's downtime ends before this: the guest runs again only now, on the target
                    r.log.info("postcopy hand-over: the guest resumed on node '%s' %d ms after postcopy-active",
                            target, (r.pausedEndNanos - r.postcopyActiveNanos) / 1_000_000);
                }
            } catch (RuntimeException e) {
                resumed = false;
                r.problems.add("VM " + vmid + " could not be resumed on node '" + target + "': " + e.getMessage()
                        + (r.postcopy ? "; postcopy is half done: resume it on that node, the source keeps serving its pages"
                        : "; it is paused there with its whole state — resume it on that node"));
            }
            if (r.postcopy && !finishPostcopy(r, resumed)) {
                return; // both QEMUs hold part of the guest: neither is stopped, the lock stays
            }
            journal(r, "phase3", "stop source");
            try {
                local.stop(vmid, Duration.ofSeconds(10));
            } catch (RuntimeException e) {
                r.problems.add("the old QEMU of VM " + vmid + " on node '" + local.name() + "' could not be stopped: "
                        + e.getMessage() + "; kill it by hand (it is paused and owns nothing)");
            }
        } else {
            for (VmDefinition.Disk d : r.copied) {
                Path p = local.storages().get(d.storage()).volumePath(d.volume());
                journal(r, "phase3", "free source volume " + d.volume());
                try {
                    volumes.delete(p);
                } catch (RuntimeException e) {
                    r.problems.add("removing local copy of '" + d.storage() + ":" + d.volume() + "' failed: "
                            + e.getMessage());
                }
            }
        }
        journal(r, "phase3", "unlock");
        try {
            store.unlock(vmid, target, "migrate");
        } catch (ClusterException e) {
            r.problems.add("the migrate lock of VM " + vmid + " could not be dropped on node '" + target + "': "
                    + e.getMessage());
        }
    }

    /**
     * After the hand-over in postcopy: the source keeps serving pages until the target has them
     * all. A broken link pauses both sides; we wait for it, make the target listen again and resume
     * the source. Returns false when postcopy could not finish (both QEMUs are left as they are).
     */
    private boolean finishPostcopy(Run r, boolean resumed) {
        if (!resumed) {
            return false;
        }
        journal(r, "phase3", "follow postcopy");
        try {
            r.stats = r.monitor.followPostcopy(paused -> recover(r, paused));
        } catch (RuntimeException e) {
            r.problems.add("postcopy of VM " + r.req.vmid() + " did not finish: " + e.getMessage() + "; the guest runs on"
                    + " node '" + r.req.target() + "' and some of its memory is still on node '" + local.name()
                    + "': neither QEMU was stopped. Once the link works, retry the recovery or inspect both QEMUs");
            return false;
        }
        r.log.info("migration status: completed (postcopy)");
        logFinal(r);
        return true;
    }

    private void recover(Run r, MigrationInfo paused) {
        long now = System.nanoTime();
        int waitS = r.req.limits().recoverWaitS() != null ? r.req.limits().recoverWaitS() : DEFAULT_RECOVER_WAIT_S;
        if (r.recoverDeadline == 0) {
            r.recoverDeadline = now + waitS * 1_000_000_000L;
            r.log.error("postcopy paused: the link to node '%s' broke (%s); waiting up to %d s for it to come back",
                    r.req.target(), paused.errorDesc() == null ? "no reason given" : paused.errorDesc(), waitS);
            journal(r, "phase3", "postcopy paused");
        } else if (now > r.recoverDeadline) {
            throw new Phase2Monitor.MigrationFailed("the link to node '" + r.req.target() + "' did not come back within "
                    + waitS + " s; both QEMUs wait paused");
        } else {
            sleepQuietly(RECOVER_RETRY_MS);
        }
        r.recoverAttempts++;
        try {
            TargetNode.Endpoint ep = r.target.recover(r.req.vmid());
            QemuProcess src = local.running(r.req.vmid()).orElseThrow(() -> new Phase2Monitor.MigrationFailed(
                    "the source QEMU of VM " + r.req.vmid() + " is gone; the rest of its memory is lost"));
            src.qmp().call(Commands.MIGRATE, MigrateArgs.builder().uri(ep.uri()).resume(true).build());
            r.log.info("postcopy recovery attempt %d: target listens at %s, source resumes", r.recoverAttempts, ep.uri());
            awaitLeavingPause(src);
        } catch (Phase2Monitor.MigrationFailed e) {
            throw e;
        } catch (RuntimeException e) {
            if (r.recoverAttempts == 1 || r.recoverAttempts % 10 == 0) {
                r.log.info("postcopy recovery attempt %d failed: %s", r.recoverAttempts, e.getMessage());
            }
        }
    }

    /** A resume either connects (status moves on) or falls back to postcopy-paused; wait for either. */
    private static void awaitLeavingPause(QemuProcess src) {
        for (int i = 0; i < 50; i++) {
            String st = src.qmp().execute("query-migrate", null).path("status").asText();
            if (!st.equals("postcopy-paused") && !st.equals("postcopy-recover-setup")) {
                return;
            }
            sleepQuietly(100);
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---- journal and result ------------------------------------------------------------------

    private void journal(Run r, String phase, String step) {
        ObjectNode e = JSON.createObjectNode();
        e.put("time", System.currentTimeMillis());
        e.put("vmid", r.req.vmid());
        e.put("source", local.name());
        e.put("target", r.req.target());
        e.put("phase", phase);
        e.put("step", step);
        store.appendJournal(r.taskId, e);
    }

    private MigrationResult result(Run r, MigrationResult.Status status, String error) {
        Long total = r.stats == null ? null : r.stats.totalTime();
        Long downtime = r.stats == null ? null : r.stats.downtime();
        Long bytes = r.stats == null || r.stats.ram() == null ? null : r.stats.ram().transferred();
        Plan.Prediction predicted = r.plan == null ? null : r.plan.forPolicy(r.req.policy());
        Phase2Monitor m = r.monitor;
        long paused = m == null || m.pausedAtNanos() == 0 ? 0 : (r.pausedEndNanos - m.pausedAtNanos()) / 1_000_000;
        return new MigrationResult(status, r.req.vmid(), local.name(), r.req.target(), r.running, r.elapsedMs(), total,
                downtime, bytes, r.req.policy(), error, List.copyOf(r.problems), r.log.lines(), predicted,
                m == null ? null : m.passes(), m == null ? null : m.maxThrottlePercent(), Math.max(0, paused), r.postcopy);
    }
}
