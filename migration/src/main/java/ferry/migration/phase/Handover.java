package ferry.migration.phase;

import ferry.cluster.ClusterException;
import ferry.migration.CancelSignal;
import ferry.migration.Migration;
import ferry.migration.MigrationResult;
import ferry.migration.MigrationStep;
import ferry.migration.TargetNode;
import ferry.migration.disk.DiskRecords;
import ferry.migration.recovery.Journal;
import ferry.migration.recovery.JournalState;
import ferry.migration.recovery.Recovery;
import ferry.node.LocalNode;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Phase 3, the hand-over: the target holds the whole state (pre-copy completed, or postcopy
 * active), so ownership moves, the target runs the guest, and only once it is seen running is
 * the source stopped; then the source's copies are freed and the lock dropped. A target that
 * cannot be resumed or reached is left to {@link Recovery}: the source waits paused (never
 * stopped) until the target answers, or takes the guest back if the target died before it ran.
 */
public final class Handover {
    private final MigrationContext ctx;
    private final Phase1 phase1;
    private final Phase2 phase2;
    private final Recovery recovery;
    private final CancelSignal signal;
    private final List<String> problems = new ArrayList<>();
    private long resumedNanos;
    private MigrationResult.Status status = MigrationResult.Status.COMPLETED;
    private String message;

    public Handover(MigrationContext ctx, Phase1 phase1, Phase2 phase2, Recovery recovery, CancelSignal signal) {
        this.ctx = ctx;
        this.phase1 = phase1;
        this.phase2 = phase2;
        this.recovery = recovery;
        this.signal = signal;
    }

    /** How it ended: COMPLETED, PROBLEMS (moved, with repairs left), FAILED (the guest went back), HANDOVER_PENDING. */
    public MigrationResult.Status run() {
        int vmid = ctx.vmid();
        String target = ctx.targetName();
        signal.noReturn("the hand-over to node '" + target + "' has begun");
        ctx.journal().step(MigrationStep.MOVE_OWNER, "move ownership to " + target);
        try {
            ctx.store().move(vmid, ctx.here(), target);
        } catch (ClusterException e) {
            if (e.reason() == ClusterException.Reason.IO) {
                throw e; // whether it moved is unknown: the journal's recovery finds out
            }
            if (ctx.store().vm(vmid).filter(r -> r.owner().equals(target)).isPresent()) {
                ctx.log().info("VM %d is already owned by node '%s' (its agent took the hand-over on while this node "
                        + "was seen down)", vmid, target);
                return handOverOwned();
            }
            // ownership did not move: the VM is still ours, so undo as before hand-over
            ctx.log().error("could not move VM %d to node '%s': %s", vmid, target, e.getMessage());
            ctx.journal().step(MigrationStep.CLEANUP, "clean up", x -> x.put("why", e.getMessage()));
            phase2.cleanup();
            phase1.cleanup();
            problems.add("ownership could not move: " + e.getMessage());
            return status = MigrationResult.Status.FAILED;
        }
        return handOverOwned();
    }

    /** The rest of the hand-over, once the target owns the VM. */
    private MigrationResult.Status handOverOwned() {
        int vmid = ctx.vmid();
        String target = ctx.targetName();
        try {
            DiskRecords.retarget(ctx.store(), vmid, target, phase1.moved(), phase1.copied());
            DiskRecords.ejectMedia(ctx.store(), vmid, target, ctx.dropped());
        } catch (ClusterException e) {
            problems.add("the record of VM " + vmid + " still names its old storages: " + e.getMessage()
                    + "; edit its disks to name the target's storages");
        }
        if (ctx.online() && !handOverLive()) {
            return status;
        }
        // only now, with the target running (or the offline copy complete), are the source's volumes spare
        freeSourceVolumes(ctx.local(), ctx.volumes(), ctx.journal(), phase1.moved(), problems);
        ctx.journal().step(MigrationStep.UNLOCK, "unlock");
        try {
            ctx.store().unlock(vmid, target, "migrate");
        } catch (ClusterException e) {
            problems.add("the migrate lock of VM " + vmid + " could not be dropped on node '" + target + "': "
                    + e.getMessage());
        }
        return status = problems.isEmpty() ? MigrationResult.Status.COMPLETED : MigrationResult.Status.PROBLEMS;
    }

    /**
     * Resumes the target, confirms it runs, follows postcopy to its end, then stops the source.
     * False when the hand-over ended otherwise (see {@link #status}).
     */
    private boolean handOverLive() {
        int vmid = ctx.vmid();
        String target = ctx.targetName();
        ctx.journal().step(MigrationStep.RESUME_TARGET, "resume on " + target);
        try {
            ctx.target().resume(vmid);
            resumedNanos = System.nanoTime();
            Recovery.awaitRunning(ctx.target()::state, vmid, target);
        } catch (TargetNode.NoQemuException e) {
            // it answered: no QEMU ran the guest there, so the source may take it back
            ctx.journal().step(MigrationStep.TARGET_GONE, "no QEMU on " + target, x -> x.put("why", e.getMessage()));
            ctx.log().error("the target QEMU of VM %d is gone: %s", vmid, e.getMessage());
            return resolveByRecovery();
        } catch (RuntimeException e) {
            ctx.log().error("VM %d could not be confirmed running on node '%s': %s; the source stays paused",
                    vmid, target, e.getMessage());
            return resolveByRecovery();
        }
        ctx.journal().step(MigrationStep.TARGET_RUNNING, "runs on " + target);
        if (phase2.postcopy()) {
            // QEMU's downtime ends before this: the guest runs again only now, on the target
            ctx.log().info("postcopy hand-over: the guest resumed on node '%s' %d ms after postcopy-active",
                    target, (resumedNanos - phase2.postcopyActiveNanos()) / 1_000_000);
            if (!finishPostcopy()) {
                return false; // both QEMUs hold part of the guest: neither is stopped, the lock stays
            }
        }
        ctx.journal().step(MigrationStep.STOP_SOURCE, "stop source");
        try {
            ctx.local().stop(vmid, Duration.ofSeconds(10));
        } catch (RuntimeException e) {
            problems.add("the old QEMU of VM " + vmid + " on node '" + ctx.here() + "' could not be stopped: "
                    + e.getMessage() + "; kill it by hand (it is paused and owns nothing)");
        }
        return true;
    }

    /** The target did not confirm: the journal and the facts decide, as after a crash. */
    private boolean resolveByRecovery() {
        phase2.closeEvents();
        JournalState j = JournalState.of(ctx.taskId(), ctx.store().journal(ctx.taskId()));
        Recovery.Outcome o = recovery.resolve(j, ctx.journal(), ctx.log(), signal, recoverWaitS());
        status = o.status();
        message = o.message();
        problems.addAll(o.problems());
        return false;
    }

    /**
     * After the hand-over in postcopy: the source keeps serving pages until the target has them
     * all. Returns false when postcopy could not finish (both QEMUs are left as they are).
     */
    private boolean finishPostcopy() {
        ctx.journal().step(MigrationStep.FOLLOW_POSTCOPY, "follow postcopy");
        try {
            phase2.finalStats(phase2.monitor().followPostcopy(new PostcopyRecovery(ctx.target(), ctx.local(),
                    ctx.vmid(), ctx.log(), ctx.journal(), recoverWaitS())));
        } catch (RuntimeException e) {
            problems.add("postcopy of VM " + ctx.vmid() + " did not finish: " + e.getMessage() + "; the guest runs on"
                    + " node '" + ctx.targetName() + "' and some of its memory is still on node '" + ctx.here()
                    + "': neither QEMU was stopped; the agent of node '" + ctx.here() + "' keeps recovering it");
            status = MigrationResult.Status.HANDOVER_PENDING;
            return false;
        }
        ctx.log().info("migration status: completed (postcopy)");
        phase2.logFinal(phase2.stats());
        return true;
    }

    private int recoverWaitS() {
        return ctx.req().limits().recoverWaitS() != null ? ctx.req().limits().recoverWaitS()
                : Migration.DEFAULT_RECOVER_WAIT_S;
    }

    /** After a move: frees the source's volumes that moved, each journaled first; what fails goes to {@code problems}. */
    public static void freeSourceVolumes(LocalNode local, Volumes volumes, Journal journal, List<VmDefinition.Disk> moved,
                                         List<String> problems) {
        for (VmDefinition.Disk d : moved) {
            Path p = local.storages().get(d.storage()).volumePath(d.volume());
            journal.step(MigrationStep.FREE_SOURCE_VOLUME, "free source volume " + d.volume(),
                    e -> e.put("storage", d.storage()).put("volume", d.volume()));
            try {
                volumes.delete(p);
            } catch (RuntimeException e) {
                problems.add("removing local copy of '" + d.storage() + ":" + d.volume() + "' failed: " + e.getMessage());
            }
        }
    }

    public List<String> problems() {
        return List.copyOf(problems);
    }

    /** What the recovery said, when it decided the end; null otherwise. */
    public String message() {
        return message;
    }

    /** When the guest ran again on the target (nanos), 0 before. */
    public long resumedNanos() {
        return resumedNanos;
    }
}
