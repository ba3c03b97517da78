package ferry.migration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import ferry.migration.disk.DiskWrites;
import ferry.migration.phase.Handover;
import ferry.migration.phase.MigrationContext;
import ferry.migration.phase.Phase1;
import ferry.migration.phase.Phase2;
import ferry.migration.phase.Phase2Monitor;
import ferry.migration.phase.Prepare;
import ferry.migration.plan.GuestProbe;
import ferry.migration.plan.LinkProbe;
import ferry.migration.plan.WorkingSet;
import ferry.migration.recovery.Journal;
import ferry.migration.recovery.JournalState;
import ferry.migration.recovery.PeerRecovery;
import ferry.migration.recovery.Recovery;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.Volumes;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The orchestrator of one migration, run on the source node. It chains the phases of the seed,
 * each a class with its own cleanup: {@link Prepare}, {@link Phase1} (lock, copy the local volumes
 * of a stopped VM), {@link Phase2} (live migration of a running VM), {@link Handover} (phase 3).
 * Every step is journaled before it acts.
 */
public final class Migration {
    public static final int DEFAULT_DOWNTIME_MS = 100;
    public static final int DEFAULT_RECOVER_WAIT_S = 300;

    private final Prepare prepare;
    private final LocalNode local;
    private final ClusterStore store;
    private final Volumes volumes;
    private final Function<String, TargetNode> targets;
    private Duration pollInterval = Duration.ofSeconds(2);
    private StepHook hook = StepHook.NONE;
    private Recovery recovery;

    public Migration(ClusterStore store, LocalNode local, Volumes volumes, Function<String, TargetNode> targets) {
        this.prepare = new Prepare(store, local, volumes, targets);
        this.local = local;
        this.store = store;
        this.volumes = volumes;
        this.targets = targets;
        this.recovery = new Recovery(store, local, volumes, targets, pollInterval);
    }

    /** How often phase 2 asks QEMU for progress (the seed's 2 s by default). */
    public Migration pollInterval(Duration d) {
        this.pollInterval = d;
        this.recovery = new Recovery(store, local, volumes, targets, d);
        return this;
    }

    /**
     * This node's certificate and the cluster's CA: with them every stream (RAM, NBD) goes over
     * QEMU's TLS, and the target admits only this node; without them (a cluster without
     * {@code pki/}) the streams go in plain TCP and the task log warns.
     */
    public Migration tls(NodeTls t) {
        return tls(() -> t);
    }

    /** The same, asked for each migration: a renewed certificate is used from the next one on. */
    public Migration tls(java.util.function.Supplier<NodeTls> t) {
        prepare.tls(t);
        return this;
    }

    /** Called at every journaled step before it acts (tests and the drill crash there). */
    public Migration onStep(StepHook h) {
        this.hook = h;
        return this;
    }

    /** A migration that passed prepare: nothing has changed yet. */
    public static final class Prepared {
        private final MigrationContext ctx;

        private Prepared(MigrationContext ctx) {
            this.ctx = ctx;
        }

        public MigrationRequest request() {
            return ctx.req();
        }
    }

    /**
     * Checks everything that can be checked before acting (the seed's prepare): refusals throw
     * {@link MigrationRefused} and change nothing.
     */
    public Prepared prepare(MigrationRequest req, String taskId, TaskLog log) {
        return new Prepared(prepare.check(req, taskId, log, hook));
    }

    /** Prepares and runs the migration to its end. */
    public MigrationResult run(MigrationRequest req, String taskId, TaskLog log, CancelSignal cancel) {
        return execute(prepare(req, taskId, log), cancel);
    }

    /** Runs a prepared migration to its end; every failure is cleaned up and reported in the result. */
    public MigrationResult execute(Prepared prepared, CancelSignal cancel) {
        MigrationContext ctx = prepared.ctx;
        TaskLog log = ctx.log();
        log.info("starting migration of VM %d to node '%s' (%s)", ctx.vmid(), ctx.targetName(),
                store.config().node(ctx.targetName()).map(NodeInfo::migrationAddress).orElse("?"));
        Phase1 phase1 = new Phase1(ctx);
        Phase2 phase2 = new Phase2(ctx, cancel, pollInterval);
        try {
            cancel.check();
            phase1.run(ctx.online() && local.status(ctx.vmid()).state() == LocalNode.State.PAUSED);
            if (ctx.online()) {
                phase2.run();
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
            log.error("migration aborted (duration %s): %s%s", Sizes.duration(ctx.elapsedMs()), what, e.getMessage());
            try {
                // journaled before it acts, like every step: a peer that took over meanwhile fences it
                ctx.journal().step(MigrationStep.CLEANUP, "clean up", x -> x.put("why", String.valueOf(e.getMessage())));
            } catch (RuntimeException x) {
                phase2.closeEvents();
                return leftToRecovery(ctx, phase2, x);
            }
            phase2.cleanup();
            phase1.cleanup();
            ctx.journal().end(status.wire());
            return result(ctx, phase2, 0, status, e.getMessage(), List.of());
        }
        Handover handover = new Handover(ctx, phase1, phase2, recovery, cancel);
        MigrationResult.Status status;
        try {
            status = handover.run();
        } catch (Journal.Fenced | ferry.cluster.ClusterException x) {
            phase2.closeEvents();
            return leftToRecovery(ctx, phase2, x);
        }
        phase2.closeEvents();
        List<String> problems = handover.problems();
        String error = handover.message() != null ? handover.message()
                : problems.isEmpty() ? null : String.join("; ", problems);
        long took = ctx.elapsedMs();
        phase2.awaitLatePlan();
        String timeline = phase2.timeline(took);
        if (!timeline.isEmpty()) {
            log.info("wall time: %s", timeline);
        }
        end(ctx.journal(), status, log, took, error);
        return result(ctx, phase2, handover.resumedNanos(), status, error, problems, took);
    }

    /**
     * A step could not be journaled (a peer took the migration over, or the store does not answer):
     * nothing more is done here; the journal stays open and its recovery resolves it.
     */
    private MigrationResult leftToRecovery(MigrationContext ctx, Phase2 phase2, RuntimeException why) {
        String m = "left to recovery: " + why.getMessage();
        ctx.log().error("%s", m);
        return result(ctx, phase2, 0, MigrationResult.Status.HANDOVER_PENDING, m, List.of(m));
    }

    /** Logs the end and closes the journal, unless something is left for the agent to finish. */
    private static void end(Journal journal, MigrationResult.Status status, TaskLog log, long elapsedMs, String error) {
        String took = Sizes.duration(elapsedMs);
        switch (status) {
            case COMPLETED -> log.info("migration finished successfully (duration %s)", took);
            case HANDOVER_PENDING -> log.error("hand-over pending (duration %s): %s", took, error);
            case FAILED -> log.error("migration failed, the VM is back on the source (duration %s): %s", took, error);
            default -> log.error("migration finished with problems (duration %s): %s", took, error);
        }
        if (status != MigrationResult.Status.HANDOVER_PENDING) {
            journal.end(status.wire());
        }
    }

    /**
     * Closes the open journal of a migration no agent will resolve (its orchestrating node is gone
     * for good) with a last {@code ended} entry carrying {@code outcome}; nothing else is touched.
     */
    public void abandon(String taskId, String outcome) {
        List<ObjectNode> entries = store.journal(taskId);
        JournalState j = JournalState.of(taskId, entries);
        new Journal(store, taskId, j.vmid(), j.source(), j.target(), entries.size(), hook).end(outcome);
    }

    /**
     * Resolves a migration of this node whose task was interrupted (the agent crashed or was
     * stopped): from its journal and what runs now, it is rolled back, finished, or handed back,
     * and its journal closed. While a node it needs does not answer, it waits; when {@code signal}
     * says the agent stops, it returns HANDOVER_PENDING and leaves the journal open.
     */
    public MigrationResult recover(String taskId, TaskLog log, CancelSignal signal) {
        long started = System.nanoTime();
        List<ObjectNode> entries = store.journal(taskId);
        JournalState j = JournalState.of(taskId, entries);
        if (!j.source().equals(local.name())) {
            throw new MigrationRefused("task " + taskId + " was orchestrated by node '" + j.source() + "', not by '"
                    + local.name() + "'; its agent recovers it");
        }
        Journal journal = new Journal(store, taskId, j.vmid(), j.source(), j.target(), entries.size(), hook);
        log.info("recovered after restart: task %s (VM %d, node '%s' -> '%s') had reached step '%s' (%s)", taskId,
                j.vmid(), j.source(), j.target(), j.last() == null ? "none" : j.last().wire(),
                j.last() == null ? "-" : j.last().phase());
        journal.step(MigrationStep.RECOVER, "recovered after restart");
        signal.noReturn("it is being recovered after a restart");
        Recovery.Outcome o = recovery.resolve(j, journal, log, signal, DEFAULT_RECOVER_WAIT_S);
        long ms = (System.nanoTime() - started) / 1_000_000;
        end(journal, o.status(), log, ms, o.message());
        return MigrationResult.recovered(o.status(), j, ms, o.message(), o.problems(), log.lines());
    }

    /**
     * Looks at a migration *to* this node whose orchestrating node is down (its liveness claim
     * lapsed) and does the target's safe part, if any: finish a hand-over whose stream completed,
     * or drop an incoming QEMU that can never receive the guest. The journal stays open with what
     * is left for the source's agent. Call it only while the source node is seen down.
     */
    public PeerRecovery.Outcome recoverAsPeer(String taskId) {
        return new PeerRecovery(store, local, targets, hook).run(taskId);
    }

    /**
     * Pre-flight: measures the running guest (dirty rate over {@code sample}, zero pages) and the
     * link (the bandwidth limit when one is set, else a short probe to the target), and predicts
     * every strategy. Changes nothing; refusals throw {@link MigrationRefused}.
     */
    public Plan plan(MigrationRequest req, Duration sample) {
        MigrationContext ctx = prepare.check(req, "plan", new TaskLog(), StepHook.NONE);
        if (!ctx.online()) {
            throw new MigrationRefused("VM " + req.vmid() + " is stopped on node '" + local.name()
                    + "': an offline migration only copies its volumes, there is nothing to converge");
        }
        QemuProcess src = local.running(req.vmid()).orElseThrow(() ->
                new MigrationRefused("VM " + req.vmid() + " stopped running on node '" + local.name() + "'"));
        Integer limit = ctx.bwlimitMiBps();
        double link;
        String linkSource;
        if (limit != null) {
            link = (double) limit * 1048576;
            linkSource = "bandwidth limit " + limit + " MiB/s";
        } else {
            link = LinkProbe.measure(ctx.target().probeSink(), Duration.ofSeconds(1));
            linkSource = "measured by a 1 s probe to node '" + req.target() + "'";
        }
        DiskWrites before = DiskWrites.read(src.qmp());
        // as a migration measures: a short window for the rate, then the rest of the sample for the working set
        Duration first = sample.compareTo(Phase2.PLAN_SAMPLE.multipliedBy(2)) >= 0 ? Phase2.PLAN_SAMPLE : sample;
        GuestProbe.Measured m = GuestProbe.measure(src, ctx.vm().memoryMiB(), first);
        Duration rest = sample.minus(m.took());
        WorkingSet w = rest.compareTo(Phase2.PLAN_SAMPLE) >= 0
                ? GuestProbe.workingSet(src, m.dirtyBytesPerS(), rest) : null;
        Map<String, Double> writes = DiskWrites.read(src.qmp()).ratesSince(before);
        Plan p = ctx.plan(m, link, linkSource, limit == null, writes);
        return w == null ? p : ctx.resampled(p, w);
    }

    private static MigrationResult result(MigrationContext ctx, Phase2 phase2, long resumedNanos,
                                          MigrationResult.Status status, String error, List<String> problems) {
        return result(ctx, phase2, resumedNanos, status, error, problems, ctx.elapsedMs());
    }

    /** @param durationMs the migration's wall time (a late plan's wait after the hand-over is not part of it) */
    private static MigrationResult result(MigrationContext ctx, Phase2 phase2, long resumedNanos,
                                          MigrationResult.Status status, String error, List<String> problems,
                                          long durationMs) {
        var stats = phase2.stats();
        Long total = stats == null ? null : stats.totalTime();
        Long downtime = phase2.downtimeMs();
        Long bytes = stats == null || stats.ram() == null ? null : stats.ram().transferred();
        Plan.Prediction predicted = phase2.plan() == null ? null : phase2.plan().forPolicy(ctx.req().policy());
        Phase2Monitor m = phase2.monitor();
        long paused = m == null || m.pausedAtNanos() == 0 ? 0 : (resumedNanos - m.pausedAtNanos()) / 1_000_000;
        return new MigrationResult(status, ctx.vmid(), ctx.here(), ctx.targetName(), ctx.online(), durationMs, total,
                downtime, bytes, ctx.req().policy(), error, List.copyOf(problems), ctx.log().lines(), predicted,
                m == null ? null : m.passes(), m == null ? null : m.maxThrottlePercent(), Math.max(0, paused),
                phase2.postcopy(), phase2.diskResults(), ctx.online() && ctx.tls() != null);
    }
}
