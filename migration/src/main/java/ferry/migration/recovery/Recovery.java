package ferry.migration.recovery;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import ferry.migration.CancelSignal;
import ferry.migration.LocalTarget;
import ferry.migration.MigrationResult;
import ferry.migration.MigrationStep;
import ferry.migration.TargetNode;
import ferry.migration.TaskLog;
import ferry.migration.disk.DiskMirror;
import ferry.migration.disk.DiskRecords;
import ferry.migration.phase.CdromDrop;
import ferry.migration.phase.Handover;
import ferry.migration.phase.Phase2;
import ferry.migration.phase.Phase2Monitor;
import ferry.migration.phase.PostcopyRecovery;
import ferry.migration.phase.Sleep;
import ferry.migration.recovery.RecoveryDecision.Action;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.Volumes;
import ferry.protocol.Commands;
import ferry.qmp.EventSubscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Resolves a migration whose orchestrator was interrupted (invariant 3): reads what its journal
 * reached, looks at the facts (the store's owner, the VM's QEMUs on both nodes), lets
 * {@link RecoveryDecision} choose, and carries the choice out, journaling each step like the
 * phases do. While a node it needs does not answer, it waits and asks again; asked to stop, it
 * leaves the journal open for the next start of the agent.
 */
public final class Recovery {
    static final Duration RETRY = Duration.ofSeconds(2);
    /** How long a resumed target may take to report that it runs. */
    static final Duration CONFIRM = Duration.ofSeconds(10);

    /** How a resolution ended; {@code status} is HANDOVER_PENDING when it stopped while still waiting. */
    public record Outcome(MigrationResult.Status status, String message, List<String> problems) {}

    private final ClusterStore store;
    private final LocalNode local;
    private final Volumes volumes;
    private final Function<String, TargetNode> targets;
    private final Duration pollInterval;

    public Recovery(ClusterStore store, LocalNode local, Volumes volumes, Function<String, TargetNode> targets,
                    Duration pollInterval) {
        this.store = store;
        this.local = local;
        this.volumes = volumes;
        this.targets = targets;
        this.pollInterval = pollInterval;
    }

    /** Decides and acts until the migration is resolved, or {@code signal} asks the agent to stop. */
    public Outcome resolve(JournalState j, Journal journal, TaskLog log, CancelSignal signal, int recoverWaitS) {
        TargetNode target = targets.apply(j.target());
        String lastWait = null;
        while (true) {
            RecoveryDecision.Facts facts;
            try {
                // decide from the journal as it is now: a peer may have acted since (its entries fence ours)
                List<ObjectNode> entries = store.journal(j.taskId());
                j = JournalState.of(j.taskId(), entries);
                journal.sync(entries.size());
                facts = facts(j, target);
            } catch (RuntimeException e) {
                log.error("cannot read the journal or the facts (%s); trying again in %d s", e.getMessage(),
                        RETRY.toSeconds());
                if (signal.stopping()) {
                    return new Outcome(MigrationResult.Status.HANDOVER_PENDING, "recovery interrupted: "
                            + e.getMessage(), List.of(e.getMessage()));
                }
                Sleep.quietly(RETRY.toMillis());
                continue;
            }
            Action a = RecoveryDecision.decide(j, facts);
            if (a instanceof RecoveryDecision.Wait w) {
                if (!w.why().equals(lastWait)) {
                    log.error("hand-over pending: %s; Ferry retries every %d s", w.why(), RETRY.toSeconds());
                    journal.step(MigrationStep.HANDOVER_PENDING, "hand-over pending", e -> e.put("why", w.why()));
                    lastWait = w.why();
                }
                if (signal.stopping()) {
                    return new Outcome(MigrationResult.Status.HANDOVER_PENDING, "hand-over pending: " + w.why()
                            + "; the agent of node '" + j.source() + "' finishes it when it runs again", List.of(w.why()));
                }
                Sleep.quietly(RETRY.toMillis());
                continue;
            }
            log.info("recovery: %s", a.why());
            try {
                return act(j, facts, a, target, journal, log, signal, recoverWaitS);
            } catch (RuntimeException e) {
                // a node stopped answering half-way: every action is safe to decide and start again
                log.error("recovery step failed (%s); deciding again in %d s", e.getMessage(), RETRY.toSeconds());
                if (signal.stopping()) {
                    return new Outcome(MigrationResult.Status.HANDOVER_PENDING, "recovery interrupted: "
                            + e.getMessage(), List.of(e.getMessage()));
                }
                Sleep.quietly(RETRY.toMillis());
            }
        }
    }

    private RecoveryDecision.Facts facts(JournalState j, TargetNode target) {
        String owner = store.vm(j.vmid()).map(VmRecord::owner).orElse(j.source());
        TargetNode.QemuState src = LocalTarget.stateOf(local, j.vmid());
        TargetNode.QemuState dst;
        try {
            dst = target.state(j.vmid());
        } catch (RuntimeException e) {
            dst = null;
        }
        return new RecoveryDecision.Facts(owner, src, dst);
    }

    private Outcome act(JournalState j, RecoveryDecision.Facts facts, Action a, TargetNode target, Journal journal,
                        TaskLog log, CancelSignal signal, int recoverWaitS) {
        int vmid = j.vmid();
        return switch (a) {
            case RecoveryDecision.Wait w -> throw new IllegalStateException("handled by the caller");
            case RecoveryDecision.RollBack rb -> {
                journal.step(MigrationStep.CLEANUP, "roll back", e -> e.put("why", rb.why()));
                local.running(vmid).ifPresent(q -> {
                    if (rb.cancelSource()) {
                        Phase2.cancelOn(q, log, rb.resumeSource(), vmid, j.source());
                    }
                    if (j.reachedStep(MigrationStep.MIRROR_DISK)) {
                        DiskMirror.removeLeftovers(q, log);
                    }
                    j.ejected().forEach(e -> CdromDrop.insert(q, local, e, log));
                });
                if (facts.target().exists()) {
                    target.stop(vmid);
                    log.info("stopped the incoming QEMU of VM %d on node '%s'", vmid, j.target());
                }
                List<String> left = j.copied().isEmpty() ? List.of() : target.freeVolumes(j.copied());
                unlock(vmid, j.source(), log);
                List<String> problems = new ArrayList<>();
                left.forEach(v -> problems.add("could not free volume copy '" + v + "' on node '" + j.target() + "'"));
                yield new Outcome(MigrationResult.Status.FAILED, "interrupted, then rolled back: " + rb.why(), problems);
            }
            case RecoveryDecision.Finish f -> {
                if (f.moveOwner()) {
                    journal.step(MigrationStep.MOVE_OWNER, "move ownership to " + j.target());
                    store.move(vmid, j.source(), j.target());
                }
                if (f.resumeTarget()) {
                    journal.step(MigrationStep.RESUME_TARGET, "resume on " + j.target());
                    target.resume(vmid);
                }
                if (j.online()) {
                    awaitRunning(target::state, vmid, j.target());
                    journal.step(MigrationStep.TARGET_RUNNING, "runs on " + j.target());
                }
                List<String> problems = new ArrayList<>();
                if (f.followPostcopy()) {
                    journal.step(MigrationStep.FOLLOW_POSTCOPY, "follow postcopy");
                    followPostcopy(j, target, journal, log, signal, recoverWaitS);
                }
                DiskRecords.retarget(store, vmid, j.target(), j.moved(), j.copied());
                if (j.online()) {
                    journal.step(MigrationStep.STOP_SOURCE, "stop source");
                    local.stop(vmid, Duration.ofSeconds(10));
                }
                Handover.freeSourceVolumes(local, volumes, journal, j.moved(), problems);
                journal.step(MigrationStep.UNLOCK, "unlock");
                unlock(vmid, j.target(), log);
                yield new Outcome(problems.isEmpty() ? MigrationResult.Status.COMPLETED : MigrationResult.Status.PROBLEMS,
                        "hand-over finished: " + f.why(), problems);
            }
            case RecoveryDecision.OwnerBack ob -> {
                journal.step(MigrationStep.OWNER_BACK, "ownership back to " + j.source(), e -> e.put("why", ob.why()));
                store.move(vmid, j.target(), j.source());
                if (facts.target().exists()) {
                    target.stop(vmid);
                }
                Optional<QemuProcess> src = local.running(vmid);
                if (ob.resumeSource() && src.isPresent()) {
                    src.get().qmp().call(Commands.CONT);
                    log.info("resumed VM %d on node '%s'", vmid, j.source());
                }
                unlock(vmid, j.source(), log);
                yield new Outcome(MigrationResult.Status.FAILED, "handed back: " + ob.why(), List.of());
            }
            case RecoveryDecision.GuestLost gl -> {
                journal.step(MigrationStep.CLEANUP, "guest lost", e -> e.put("why", gl.why()));
                local.stop(vmid, Duration.ofSeconds(10));
                if (facts.target().exists()) {
                    target.stop(vmid);
                }
                unlock(vmid, facts.owner(), log);
                String what = "VM " + vmid + " is stopped: " + gl.why() + "; start it again with 'ferry vm start "
                        + vmid + "' (its owner is node '" + facts.owner() + "')";
                log.error("%s", what);
                yield new Outcome(MigrationResult.Status.PROBLEMS, what, List.of(what));
            }
        };
    }

    /** Waits until the target reports that the guest runs there. */
    public static void awaitRunning(java.util.function.IntFunction<TargetNode.QemuState> state, int vmid, String node) {
        long deadline = System.nanoTime() + CONFIRM.toNanos();
        while (true) {
            TargetNode.QemuState s = state.apply(vmid);
            if (s.running()) {
                return;
            }
            if (!s.exists() || System.nanoTime() > deadline) {
                throw new IllegalStateException("VM " + vmid + " does not run on node '" + node + "' (" + s + ")");
            }
            Sleep.quietly(100);
        }
    }

    private void followPostcopy(JournalState j, TargetNode target, Journal journal, TaskLog log, CancelSignal signal,
                                int recoverWaitS) {
        QemuProcess src = local.running(j.vmid()).orElseThrow(() -> new IllegalStateException(
                "the source QEMU of VM " + j.vmid() + " is gone during postcopy"));
        try (EventSubscription events = src.qmp().subscribe("MIGRATION")) {
            Phase2Monitor m = Phase2Monitor.forPostcopy(src.qmp(), events, log, signal, pollInterval,
                    j.postcopyBandwidth());
            m.followPostcopy(new PostcopyRecovery(target, local, j.vmid(), log, journal, recoverWaitS));
            log.info("migration status: completed (postcopy)");
        }
    }

    private void unlock(int vmid, String owner, TaskLog log) {
        try {
            if (store.vm(vmid).map(VmRecord::locked).orElse(false)) {
                store.unlock(vmid, owner, "migrate");
            }
        } catch (ClusterException e) {
            log.error("could not drop the migrate lock of VM %d on node '%s': %s", vmid, owner, e.getMessage());
            throw e;
        }
    }
}
