package ferry.migration;

import ferry.cluster.ClusterException;
import ferry.node.VmDefinition;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Phase 3, the hand-over: the target holds the whole state (pre-copy completed, or postcopy
 * active), so ownership moves, the target runs the guest, the source is stopped and freed, and
 * the lock is dropped. Nothing after the ownership move is rolled back: what fails is reported
 * as a problem to repair.
 */
final class Handover {
    private final MigrationContext ctx;
    private final Phase1 phase1;
    private final Phase2 phase2;
    private final List<String> problems = new ArrayList<>();
    private long resumedNanos;

    Handover(MigrationContext ctx, Phase1 phase1, Phase2 phase2) {
        this.ctx = ctx;
        this.phase1 = phase1;
        this.phase2 = phase2;
    }

    /** Returns what is left to repair; empty when the VM moved cleanly. */
    List<String> run() {
        int vmid = ctx.vmid();
        String target = ctx.targetName();
        ctx.journal().step(MigrationStep.MOVE_OWNER, "move ownership to " + target);
        try {
            ctx.store().move(vmid, ctx.here(), target);
        } catch (ClusterException e) {
            // ownership did not move: the VM is still ours, so undo as before hand-over
            ctx.log().error("could not move VM %d to node '%s': %s", vmid, target, e.getMessage());
            phase2.cleanup();
            phase1.cleanup();
            problems.add("ownership could not move: " + e.getMessage());
            return problems;
        }
        if (ctx.online()) {
            if (!handOverLive()) {
                return problems;
            }
        } else {
            freeSourceVolumes(phase1.copied());
        }
        ctx.journal().step(MigrationStep.UNLOCK, "unlock");
        try {
            ctx.store().unlock(vmid, target, "migrate");
        } catch (ClusterException e) {
            problems.add("the migrate lock of VM " + vmid + " could not be dropped on node '" + target + "': "
                    + e.getMessage());
        }
        return problems;
    }

    /** Resumes the target, follows postcopy to its end, stops the source; false when the lock must stay. */
    private boolean handOverLive() {
        int vmid = ctx.vmid();
        String target = ctx.targetName();
        ctx.journal().step(MigrationStep.RESUME_TARGET, "resume on " + target);
        boolean resumed = true;
        try {
            ctx.target().resume(vmid);
            resumedNanos = System.nanoTime();
            if (phase2.postcopy()) {
                // QEMU's downtime ends before this: the guest runs again only now, on the target
                ctx.log().info("postcopy hand-over: the guest resumed on node '%s' %d ms after postcopy-active",
                        target, (resumedNanos - phase2.postcopyActiveNanos()) / 1_000_000);
            }
        } catch (RuntimeException e) {
            resumed = false;
            problems.add("VM " + vmid + " could not be resumed on node '" + target + "': " + e.getMessage()
                    + (phase2.postcopy() ? "; postcopy is half done: resume it on that node, the source keeps serving its pages"
                    : "; it is paused there with its whole state — resume it on that node"));
        }
        if (phase2.postcopy() && !finishPostcopy(resumed)) {
            return false; // both QEMUs hold part of the guest: neither is stopped, the lock stays
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

    /**
     * After the hand-over in postcopy: the source keeps serving pages until the target has them
     * all. Returns false when postcopy could not finish (both QEMUs are left as they are).
     */
    private boolean finishPostcopy(boolean resumed) {
        if (!resumed) {
            return false;
        }
        ctx.journal().step(MigrationStep.FOLLOW_POSTCOPY, "follow postcopy");
        int waitS = ctx.req().limits().recoverWaitS() != null ? ctx.req().limits().recoverWaitS()
                : Migration.DEFAULT_RECOVER_WAIT_S;
        try {
            phase2.finalStats(phase2.monitor().followPostcopy(new PostcopyRecovery(ctx, waitS)));
        } catch (RuntimeException e) {
            problems.add("postcopy of VM " + ctx.vmid() + " did not finish: " + e.getMessage() + "; the guest runs on"
                    + " node '" + ctx.targetName() + "' and some of its memory is still on node '" + ctx.here()
                    + "': neither QEMU was stopped. Once the link works, retry the recovery or inspect both QEMUs");
            return false;
        }
        ctx.log().info("migration status: completed (postcopy)");
        phase2.logFinal(phase2.stats());
        return true;
    }

    private void freeSourceVolumes(List<VmDefinition.Disk> copied) {
        for (VmDefinition.Disk d : copied) {
            Path p = ctx.local().storages().get(d.storage()).volumePath(d.volume());
            ctx.journal().step(MigrationStep.FREE_SOURCE_VOLUME, "free source volume " + d.volume(),
                    e -> e.put("storage", d.storage()).put("volume", d.volume()));
            try {
                ctx.volumes().delete(p);
            } catch (RuntimeException e) {
                problems.add("removing local copy of '" + d.storage() + ":" + d.volume() + "' failed: " + e.getMessage());
            }
        }
    }

    /** When the guest ran again on the target (nanos), 0 before. */
    long resumedNanos() {
        return resumedNanos;
    }
}
