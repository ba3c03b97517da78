package ferry.migration.phase;

import ferry.migration.CancelSignal;
import ferry.migration.MigrationRefused;
import ferry.migration.MigrationRequest;
import ferry.migration.MigrationResult;
import ferry.migration.MigrationStep;
import ferry.migration.NodeTls;
import ferry.migration.Plan;
import ferry.migration.Sizes;
import ferry.migration.TargetNode;
import ferry.migration.TaskLog;
import ferry.migration.Tuning;
import ferry.migration.disk.DiskMirror;
import ferry.migration.disk.DiskWrites;
import ferry.migration.plan.GuestProbe;
import ferry.migration.plan.WorkingSet;
import ferry.migration.policy.BandwidthGuard;
import ferry.migration.policy.ConvergencePolicy;
import ferry.migration.policy.Policies;
import ferry.migration.policy.StreamSetup;
import ferry.migration.policy.XbzrleSizing;
import ferry.migration.qemu.QemuFeatures;
import ferry.migration.qemu.QemuTls;
import ferry.migration.qemu.QemuVersions;
import ferry.migration.qemu.TcgDirtyTracking;
import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.protocol.MigrateArgs;
import ferry.protocol.MigrationInfo;
import ferry.protocol.MigrationStatus;
import ferry.protocol.QCryptoTLSCredsEndpoint;
import ferry.protocol.RunState;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpClient;
import ferry.qmp.QmpCommandException;
import ferry.qmp.QmpException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Phase 2, the live migration of a running VM: predicts the outcome, sets capabilities and
 * parameters on both ends, starts the target paused and waiting, sends, and lets the policy steer
 * until pre-copy completes or postcopy takes over. Its cleanup cancels the stream, resumes the
 * source if the migration paused it, and stops the target QEMU.
 */
public final class Phase2 {
    /** The seed's "unlimited" bandwidth, in MiB/s. */
    static final int DEFAULT_BWLIMIT_MIB = 8192;
    /**
     * The first sample of the guest's dirty rate, taken while the target starts and the first pass
     * begins. Short, because the policy wants its plan early; a short window cannot see a working
     * set rewritten, which {@link #WORKING_SET_SAMPLE} then looks for.
     */
    public static final Duration PLAN_SAMPLE = Duration.ofMillis(200);
    /**
     * The second sample, taken while the first pass runs: long enough for a guest that writes fast
     * to rewrite its working set (S3's 64 MiB at 48 MiB/s within 1.3 s), short enough to end before
     * the first pass of a guest of a few hundred MiB at tens of MiB/s.
     */
    public static final Duration WORKING_SET_SAMPLE = Duration.ofMillis(2500);
    /** How long a stream that ended before the first sample waits for it: a starved sample taken twice ends by then. */
    static final Duration SHORT_STREAM_PLAN_WAIT = Duration.ofSeconds(1);
    /**
     * Each background step on a thread of its own: they block on QEMU and on the target's agent,
     * and the common pool has one thread on a 2-core host (two migrations' samples would queue).
     */
    private static final java.util.concurrent.Executor OWN_THREAD =
            r -> Thread.ofPlatform().daemon().name("ferry-phase2-step").start(r);

    private final MigrationContext ctx;
    private final CancelSignal cancel;
    private final Duration pollInterval;
    private final DiskMirror disks;
    private final CdromDrop cdroms;
    private boolean targetStarted;
    private boolean pausedByUs;
    private Plan plan;
    private CompletableFuture<Plan> planning;
    /** The plan again after {@link #WORKING_SET_SAMPLE}; null where no second sample is taken. */
    private CompletableFuture<Plan> refining;
    /**
     * The plan on the two windows alone, when a third follows them (see {@link GuestProbe#workingSet}):
     * a second sample for the policy a second sooner; completed with null when there is none.
     */
    private final CompletableFuture<Plan> interim = new CompletableFuture<>();
    /** Set when pre-copy ended: a sample still running then measured a guest the stream stopped. */
    private volatile boolean streamOver;
    private boolean predictionLogged;
    private boolean planGiven;
    private Phase2Monitor monitor;
    private EventSubscription events;
    private MigrationInfo stats;
    private boolean postcopy;
    private long postcopyActiveNanos;
    /** QEMU's total time when the switch to postcopy was seen. */
    private Long switchTotalMs;
    private Long downtimeMs;
    /** When the stream started and when pre-copy ended, in the task's elapsed ms; -1 before. */
    private long streamStartMs = -1;
    private long streamEndMs = -1;
    /** How long the stream waited for the guest's sample after the target was ready (0 where it need not). */
    private long planWaitMs;

    public Phase2(MigrationContext ctx, CancelSignal cancel, Duration pollInterval) {
        this.ctx = ctx;
        this.cancel = cancel;
        this.pollInterval = pollInterval;
        this.disks = new DiskMirror(ctx, cancel, pollInterval);
        this.cdroms = new CdromDrop(ctx);
    }

    public void run() {
        int vmid = ctx.vmid();
        QemuProcess src = ctx.local().running(vmid).orElseThrow(() ->
                new NodeException("VM " + vmid + " stopped running on node '" + ctx.here() + "'"));
        QmpClient qmp = src.qmp();
        long bw = (long) (ctx.bwlimitMiBps() != null ? ctx.bwlimitMiBps() : DEFAULT_BWLIMIT_MIB) << 20;
        MigrationRequest.Limits limits = ctx.req().limits();
        Tuning tuning = ctx.req().tuning();
        Set<String> srcCaps = ctx.features().capabilities();
        ConvergencePolicy policy = Policies.create(ctx.req().policy(), new Policies.Context(ctx.vm().memoryMiB(),
                ctx.vm().vcpus(), bw, ctx.downtimeMs(), ctx.maxDurationMs(bw), limits, srcCaps,
                QemuVersions.usableOnTarget(ctx.features(), ctx.targetFeatures(), ctx.log()),
                useDirtyLimit(src)));
        ConvergencePolicy.Setup setup = policy.setup();
        for (var c : setup.capabilities().entrySet()) {
            if (c.getValue() && !srcCaps.contains(c.getKey())) {
                throw new MigrationRefused("policy " + policy.name() + " needs migration capability '" + c.getKey()
                        + "', which QEMU " + ctx.local().qemu().version() + " on node '" + ctx.here() + "' lacks");
            }
        }
        pausedByUs = qmp.call(Commands.QUERY_STATUS).status() == RunState.RUNNING;
        // a running guest of a TCG source older than 9.0 goes paused, or the target may get stale pages
        String tcgLoss = pausedByUs ? TcgDirtyTracking.problem(src, ctx.here()) : null;
        if (tcgLoss != null) {
            ctx.log().warn("%s", tcgLoss);
        }
        // the guest's sample (PLAN_SAMPLE) runs while the target starts and the first pass begins; the
        // stream waits for it only where the plan sizes something before it (the xbzrle cache), or
        // where the sample would disturb what follows (the mirrors); the policy gets it mid-pass
        planning = CompletableFuture.supplyAsync(() -> predict(src, bw), OWN_THREAD);
        if (ctx.localDisks().isEmpty() && tcgLoss == null) {
            refining = planning.thenApplyAsync(first -> refine(src, first), OWN_THREAD);
            refining.whenComplete((p, e) -> interim.complete(null)); // no third window, or no sample at all
        }
        boolean xbzrle = tuning.xbzrle() != null ? tuning.xbzrle() : setup.capabilities().getOrDefault("xbzrle", false);
        if (xbzrle && tuning.xbzrleCacheMiB() == null && !setup.parameters().has("xbzrle-cache-size")) {
            awaitPlan(policy);
        }
        long cache = StreamSetup.xbzrleCacheFor(plan, ctx.vm().memoryMiB());
        StreamSetup stream = StreamSetup.of(setup, tuning, ctx.features(), cache);
        if (stream.sourceCaps().getOrDefault("xbzrle", false) && tuning.xbzrleCacheMiB() == null
                && !setup.parameters().has("xbzrle-cache-size")) {
            policy = new XbzrleSizing(policy, cache, (long) ctx.vm().memoryMiB() << 20);
        }
        if (tuning.multifd()) {
            policy = new BandwidthGuard(policy, bw);
        }
        Map<String, Boolean> caps = new LinkedHashMap<>(stream.sourceCaps());
        if (!ctx.localDisks().isEmpty()) {
            // the mirrors end at pre-switchover, with the guest stopped and the target not yet told to run
            caps.put("pause-before-switchover", true);
        }
        VmDefinition pinned = pinMachine(src);
        cdroms.eject(src);
        ctx.journal().step(MigrationStep.START_INCOMING, "start incoming on " + ctx.targetName());
        targetStarted = true;
        // the target starts while the source takes its settings: the two cost about the same
        // (50-150 ms each here) and neither needs the other
        CompletableFuture<TargetNode.Endpoint> incoming = CompletableFuture.supplyAsync(() -> ctx.target()
                .startIncoming(pinned, stream.targetCaps(), stream.targetParams(), ctx.here(), ctx.tls() != null), OWN_THREAD);
        try {
            qmp.execute(Commands.MIGRATE_SET_CAPABILITIES, StreamSetup.capabilityArgs(caps));
            qmp.execute(Commands.MIGRATE_SET_PARAMETERS, stream.sourceParams());
            sourceTls(src);
        } catch (RuntimeException e) {
            // the cleanup stops the target: let its start end first, or it would outlive the stop
            incoming.handle((ep, x) -> null).join();
            throw e instanceof QmpCommandException q ? new MigrationRefused("QEMU on node '" + ctx.here()
                    + "' refused the migration settings: " + q.description()) : e;
        }
        TargetNode.Endpoint ep = joined(incoming);
        ctx.log().info("starting VM %d on remote node '%s', listening at %s", vmid, ctx.targetName(), ep.uri());
        dropWhatTheTargetLacks(qmp, caps, stream.targetCaps(), ep);
        ctx.log().info("%s", setup.summary());
        if (!stream.summary().isEmpty()) {
            ctx.log().info("%s", stream.summary());
        }
        long readyNanos = System.nanoTime();
        if (!ctx.localDisks().isEmpty() || tcgLoss != null) {
            // before the mirrors measure the guest's writes: the sample slows a TCG guest
            awaitPlan(policy);
        }
        planWaitMs = (System.nanoTime() - readyNanos) / 1_000_000;
        if (tcgLoss != null && plan != null) {
            // the strategies above assume a running guest: paused, the downtime is the transfer
            Plan.Inputs in = plan.inputs();
            double bytes = in.nonZeroBytes();
            ctx.log().warn("planner: paused for the whole stream, the guest's downtime is the whole transfer of %s "
                    + "(%.1f s at the %s/s limit), whatever the policy's downtime budget", Sizes.bytes((long) bytes),
                    bytes / in.ramLinkBytesPerS(), Sizes.bytes((long) in.ramLinkBytesPerS()));
        }
        if (!ctx.localDisks().isEmpty()) {
            disks.start(src, bw, ctx.maxDurationMs(bw));
            disks.awaitReady(ctx.maxDurationMs(bw));
            disks.activate();
        }
        ctx.journal().step(MigrationStep.MIGRATE, "migrate to " + ep.uri(), e -> e.put("uri", ep.uri()));
        events = Phase2Monitor.eventsFor(qmp, policy);
        long firstLimit = setup.parameters().has("downtime-limit") ? setup.parameters().path("downtime-limit").asLong()
                : qmp.call(Commands.QUERY_MIGRATE_PARAMETERS).downtimeLimit().longValue();
        monitor = new Phase2Monitor(qmp, events, ctx.log(), cancel, pollInterval, policy, firstLimit)
                .journaled(ctx.journal()).planned(planning, planGiven, ctx.req().policy())
                .refinedBy(refining == null ? null : interim, refining).calibratedBy(ctx::calibrated)
                .limitedTo(tuning.multifd() ? 0 : bw).startingAt(disks.active() ? disks.share() : 0)
                .budgetFrom(disks.active() ? disks.startedNanos() : System.nanoTime());
        if (tuning.pauseBeforeSwitchover() || disks.active()) {
            monitor.beforeSwitchover(() -> {
                checkBeforeSwitchover();
                if (disks.active()) {
                    disks.end();
                }
            });
        }
        if (tcgLoss != null) {
            monitor.pauseGuest("pausing VM " + vmid + " on node '" + ctx.here() + "' for the whole stream (TCG on a "
                    + "QEMU older than " + TcgDirtyTracking.FIXED_IN_MAJOR + ".0)");
        }
        streamStartMs = ctx.elapsedMs();
        qmp.call(Commands.MIGRATE, MigrateArgs.builder().uri(ep.uri()).build());
        try {
            stats = monitor.follow();
        } finally {
            streamOver = true;
        }
        streamEndMs = ctx.elapsedMs();
        // a stream shorter than the first sample does not wait for it here: the guest is stopped on
        // both nodes until the hand-over resumes the target (see awaitLatePlan)
        plan = monitor.plan();
        downtimeMs = stats.downtime();
        if (stats.status() == MigrationStatus.POSTCOPY_ACTIVE) {
            postcopy = true;
            postcopyActiveNanos = System.nanoTime();
            switchTotalMs = stats.totalTime();
            ctx.log().info("migration status: postcopy-active; the target takes over and pulls the rest");
            return;
        }
        ctx.log().info("migration status: completed");
        logFinal(stats);
    }

    /**
     * The source's side of the streams' TLS: its credentials loaded and the target's certificate
     * checked for the target's migration address; or plain TCP, with a warning that says why.
     */
    private void sourceTls(QemuProcess src) {
        String what = ctx.localDisks().isEmpty() ? "the migration stream" : "the migration stream and the disks' NBD stream";
        String cross = ctx.localDisks().isEmpty() ? "crosses" : "cross";
        if (ctx.tls() == null) {
            QemuTls.usePlain(src);
            if (ctx.req().noTls()) {
                ctx.log().warn("--no-tls: %s %s the network in plain TCP, unauthenticated; this option exists only "
                        + "to measure what TLS costs", what, cross);
            } else {
                ctx.log().warn("no certificates for node '%s' (the cluster folder has no %s/ with them): %s %s the "
                        + "network in plain TCP, unauthenticated; 'ferry cluster create' makes them",
                        ctx.here(), ferry.cluster.pki.ClusterPki.FOLDER, what, cross);
            }
            return;
        }
        String host = tlsHostOf(ctx);
        QemuTls.load(src, ctx.local().runDir(ctx.vmid()), QCryptoTLSCredsEndpoint.CLIENT, ctx.tls());
        QemuTls.useAsClient(src, host);
        ctx.log().info("%s over TLS: node '%s' presents %s, the only peer node '%s' admits, and accepts only a "
                + "certificate of the cluster's CA for %s", what, ctx.here(), NodeTls.identityOf(ctx.here()),
                ctx.targetName(), host);
    }

    /** The name the target's certificate must carry: its migration address, a subject alternative name of it. */
    public static String tlsHostOf(MigrationContext ctx) {
        String a = ctx.store().config().node(ctx.targetName()).map(ferry.cluster.NodeInfo::migrationAddress)
                .orElseThrow(() -> new NodeException("node '" + ctx.targetName() + "' is not in the cluster"));
        // an IPv6 literal as the certificate names it: without brackets
        return a.startsWith("[") && a.endsWith("]") ? a.substring(1, a.length() - 1) : a;
    }

    /** Capabilities needed on both ends that the target lacks: preempt is dropped, anything else fails. */
    private void dropWhatTheTargetLacks(QmpClient qmp, Map<String, Boolean> caps, Set<String> wanted,
                                        TargetNode.Endpoint ep) {
        for (String c : wanted) {
            if (ep.capabilities().contains(c)) {
                continue;
            }
            if (c.equals("postcopy-preempt")) {
                caps.put(c, false);
                qmp.execute(Commands.MIGRATE_SET_CAPABILITIES, StreamSetup.capabilityArgs(Map.of(c, false)));
                ctx.log().info("target node '%s' lacks postcopy-preempt: postcopy runs without it", ctx.targetName());
            } else {
                throw new NodeException("migration capability '" + c + "' is missing on target node '"
                        + ctx.targetName() + "'; its QEMU is too old for it");
            }
        }
    }

    /**
     * Throttling with dirty-limit needs the budget policy with --allow-throttle, and a host that
     * can (KVM dirty rings); "auto" falls back to auto-converge and says why.
     */
    private boolean useDirtyLimit(QemuProcess src) {
        String how = ctx.req().tuning().throttle();
        if (!ctx.req().policy().equals("budget") || !ctx.req().limits().allowThrottle() || "auto-converge".equals(how)) {
            return false;
        }
        String why = QemuFeatures.dirtyLimitProblem(src);
        if (why != null) {
            ctx.log().info("throttle: auto-converge, because dirty-limit is unavailable on node '%s': %s", ctx.here(), why);
        }
        return why == null;
    }

    /** The last moment to turn back: the source is stopped at pre-switchover, the target not yet running. */
    private void checkBeforeSwitchover() {
        cancel.check();
        try {
            ctx.target().probe();
        } catch (RuntimeException e) {
            throw new Phase2Monitor.MigrationFailed("target node '" + ctx.targetName() + "' stopped answering at the "
                    + "switch-over (" + e.getMessage() + "); the VM stays on node '" + ctx.here() + "'");
        }
    }

    /** Logs QEMU's final figures and the planner's prediction beside them. */
    void logFinal(MigrationInfo s) {
        TaskLog log = ctx.log();
        if (downtimeMs != null) {
            log.info("migration downtime %d ms", downtimeMs);
        }
        if (s.ram() != null) {
            log.info("migration transferred %s in %d ms", Sizes.bytes(s.ram().transferred()), s.totalTime());
        }
        logPrediction(s);
    }

    private void logPrediction(MigrationInfo s) {
        Plan.Prediction p = plan == null || s.totalTime() == null ? null : plan.forPolicy(ctx.req().policy());
        if (p != null && !predictionLogged) {
            predictionLogged = true;
            ctx.log().info("planner: predicted %.1f s / %.0f ms downtime, measured %.1f s / %s ms downtime", p.seconds(),
                    p.downtimeMs(), s.totalTime() / 1000.0, downtimeMs);
        }
    }

    /**
     * After the hand-over, the guest running on the target: a stream shorter than the first sample
     * waits up to {@link #SHORT_STREAM_PLAN_WAIT} for it, so that the migration still reports its
     * prediction (not for a sample stuck behind another measurement). Waiting before the hand-over
     * would have kept the guest stopped on both nodes.
     */
    public void awaitLatePlan() {
        if (plan == null && planning != null) {
            plan = planWithin(SHORT_STREAM_PLAN_WAIT);
        }
        if (stats != null && stats.status() == MigrationStatus.COMPLETED) {
            logPrediction(stats);
        }
    }

    /** Waits for the plan started at the top of {@link #run} and gives it to the policy, once. */
    private void awaitPlan(ConvergencePolicy policy) {
        if (planGiven) {
            return;
        }
        planGiven = true;
        plan = planning.join();
        if (plan != null) {
            policy.planned(plan);
        }
    }

    /** Measures the guest and predicts every strategy; a failed measurement only costs the prediction. */
    private Plan predict(QemuProcess src, long bw) {
        if (!pausedByUs) {
            return null; // a paused guest dirties nothing: nothing to predict
        }
        try {
            DiskWrites before = DiskWrites.read(src.qmp());
            GuestProbe.Measured m = GuestProbe.measure(src, ctx.vm().memoryMiB(), PLAN_SAMPLE);
            Plan p0 = ctx.plan(m, bw, "bandwidth limit", false, DiskWrites.read(src.qmp()).ratesSince(before));
            Plan.Prediction p = p0.forPolicy(ctx.req().policy());
            ctx.log().info("planner: dirty rate %s/s, %.0f%% zero pages, link %s/s -> %s: %s, %d passes, %.1f s, "
                    + "downtime %.0f ms (measured in %d ms)", Sizes.bytes((long) m.dirtyBytesPerS()), m.zeroShare() * 100,
                    Sizes.bytes(bw), p.strategy(), p.converges() ? "converges" : "does not converge", p.passes(),
                    p.seconds(), p.downtimeMs(), m.took().toMillis());
            if (m.starvedShare() >= 0) {
                ctx.log().info("planner: the guest waited for a host CPU %.0f%% of the time it was ready to run during "
                        + "the sample; sampled again and kept the less starved sample (the guest waited %.0f%% in it)",
                        m.starvedShare() * 100, m.waitShare() * 100);
            }
            if (!p0.disks().isEmpty()) {
                Plan.Disks d = p0.inputs().disks();
                ctx.log().info("planner: disks first, %.1f s until every mirror is ready (the guest writes %s/s to "
                        + "them); then the RAM in what is left: %.1f s in all of the %d s limit", d.mirrorSeconds(),
                        Sizes.bytes((long) d.writeBytesPerS()), p0.totalSeconds(p), p0.inputs().maxDurationMs() / 1000);
            }
            return p0;
        } catch (RuntimeException e) {
            ctx.log().info("planner: could not measure the guest (%s)%s", e.getMessage(),
                    streamOver ? "" : "; migrating without a prediction");
            return null;
        }
    }

    /**
     * The plan again on a {@link #WORKING_SET_SAMPLE} of the guest, taken while pre-copy runs; null
     * when there is no first plan, or the stream ended before the sample did (it then measured a
     * guest the stream had stopped). A failed sample costs only the refinement.
     */
    private Plan refine(QemuProcess src, Plan first) {
        if (first == null || streamOver) {
            return null;
        }
        try {
            WorkingSet w = GuestProbe.workingSet(src, first.inputs().dirtyBytesPerS(), WORKING_SET_SAMPLE,
                    unsure -> interim.complete(streamOver ? null : ctx.resampled(first, unsure)));
            return streamOver ? null : ctx.resampled(first, w);
        } catch (RuntimeException e) {
            if (!streamOver) {
                ctx.log().info("planner: the longer sample failed (%s); the first one stands", e.getMessage());
            }
            return null;
        }
    }

    /**
     * The target must start the same virtual hardware: the machine type the source QEMU runs, asked
     * of it (e.g. "pc-i440fx-7.2" for a VM defined with "pc" on QEMU 7.2, even when the VM moved
     * there from a newer QEMU), never the alias resolved again on the target's QEMU.
     */
    private VmDefinition pinMachine(QemuProcess src) {
        VmDefinition vm = ctx.targetVm();
        String runs = QemuFeatures.machineOf(src);
        if (runs.equals(vm.machine())) {
            return vm;
        }
        ctx.log().info("pinned machine type '%s' (%s), CPU model '%s'", runs, vm.machine(), vm.cpu());
        return new VmDefinition(vm.vmid(), vm.name(), vm.memoryMiB(), vm.vcpus(), runs, vm.cpu(), vm.boot(),
                vm.disks(), vm.accel(), vm.migration());
    }

    // ---- cleanup: the VM stays where it was ----------------------------------------------------

    public void cleanup() {
        streamOver = true;
        int vmid = ctx.vmid();
        closeEvents();
        if (!targetStarted) {
            ctx.local().running(vmid).ifPresent(cdroms::cleanup);
            awaitSample();
            return;
        }
        ctx.log().info("aborting phase 2 - cleanup resources");
        Optional<QemuProcess> src = ctx.local().running(vmid);
        if (src.isEmpty()) {
            ctx.log().error("VM %d is no longer running on node '%s' (its QEMU is gone); it was not migrated",
                    vmid, ctx.here());
        }
        src.ifPresent(q -> cancelOn(q, ctx.log(), pausedByUs, vmid, ctx.here()));
        disks.cleanup();
        src.ifPresent(cdroms::cleanup);
        try {
            ctx.target().stop(vmid);
        } catch (RuntimeException e) {
            ctx.log().error("could not stop VM %d on target node '%s': %s", vmid, ctx.targetName(), e.getMessage());
        }
        awaitSample();
    }

    /**
     * A sample still running would log into a task that is ending: it is waited for (it ends within
     * a second), after the guest runs again on the source, never before.
     */
    private void awaitSample() {
        if (planning != null) {
            try {
                planning.get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                ctx.log().info("planner: its sample did not end (%s)", e.toString());
            }
        }
    }

    /** Cancels the source's stream; resumes the guest only if the migration paused it (never what the user paused). */
    public static void cancelOn(QemuProcess q, TaskLog log, boolean resume, int vmid, String node) {
        try {
            log.info("migrate_cancel");
            q.qmp().call(Commands.MIGRATE_CANCEL);
            waitUntilMigrationEnds(q);
            if (resume && q.qmp().call(Commands.QUERY_STATUS).status() != RunState.RUNNING) {
                q.qmp().call(Commands.CONT);
                log.info("resumed VM %d on node '%s'", vmid, node);
            }
        } catch (QmpException e) {
            log.error("migrate_cancel error: %s", e.getMessage());
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
            Sleep.quietly(100);
        }
    }

    public void closeEvents() {
        if (events != null) {
            events.close();
            events = null;
        }
    }

    // ---- what the hand-over and the result need ----------------------------------------------

    public boolean postcopy() {
        return postcopy;
    }

    public List<MigrationResult.Disk> diskResults() {
        return disks.results();
    }

    long postcopyActiveNanos() {
        return postcopyActiveNanos;
    }

    public Phase2Monitor monitor() {
        return monitor;
    }

    /** The plan the migration followed (the refined one when it came in time); null without one, or while its sample still runs. */
    public Plan plan() {
        if (plan != null || planning == null) {
            return plan;
        }
        return monitor != null && monitor.plan() != null ? monitor.plan() : planning.getNow(null);
    }

    /** QEMU's final figures; for a stream that ended early (aborted, not converged), its last ones. */
    public MigrationInfo stats() {
        return stats != null || monitor == null ? stats : monitor.last();
    }

    /** Postcopy ended: QEMU's final figures replace those at the switch. */
    void finalStats(MigrationInfo s) {
        stats = s;
        downtimeMs = postcopyDowntime(s.downtime(), s.totalTime(), switchTotalMs);
        if (downtimeMs != null && !downtimeMs.equals(s.downtime())) {
            ctx.log().info("QEMU reported a downtime of %d ms, which spans the whole postcopy phase: its switch-over "
                    + "took under 1 ms, a 0 that QEMU 10 takes for unset and measures again at the end", s.downtime());
        }
    }

    /**
     * QEMU measures a postcopy downtime at the switch; when that rounds to 0 ms it counts it as
     * unset and measures it again when postcopy completes, from the switch to the end. A real
     * downtime cannot span the whole postcopy phase (the guest runs on the target during it),
     * so a figure that does is that 0.
     */
    static Long postcopyDowntime(Long reported, Long totalMs, Long switchTotalMs) {
        if (reported == null || totalMs == null || switchTotalMs == null) {
            return reported;
        }
        return reported >= totalMs - switchTotalMs ? 0L : reported;
    }

    /** The first plan if it comes within {@code wait}, else null (the migration reports no prediction). */
    private Plan planWithin(Duration wait) {
        try {
            return planning.get(wait.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The future's value, or what it threw, as thrown (not wrapped). */
    private static <T> T joined(CompletableFuture<T> f) {
        try {
            return f.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : e;
        }
    }

    /**
     * Where the wall time went, for the final log line: before the stream (prepare, the target's
     * start, the guest's sample), the stream's pre-copy, and after it; empty before the stream ran.
     */
    public String timeline(long endMs) {
        if (streamStartMs < 0 || streamEndMs < 0) {
            return "";
        }
        return String.format("%d ms before the stream (of them %d ms waiting for the guest's sample), %d ms of "
                + "stream, %d ms after it", streamStartMs, planWaitMs, streamEndMs - streamStartMs, endMs - streamEndMs);
    }

    /** QEMU's downtime of this migration (for postcopy: see {@link #postcopyDowntime}); null before it ended. */
    public Long downtimeMs() {
        return downtimeMs;
    }
}
