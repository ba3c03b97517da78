package ferry.migration.recovery;

import ferry.migration.MigrationStep;
import ferry.migration.TargetNode.QemuState;

/**
 * What the target's agent may do for a migration whose orchestrating (source) node is down.
 * That node's QEMU may be dead with its host or still running without its agent; nobody can
 * fence it from here. So the target acts only where both cases lead to one guest running once:
 * it finishes a hand-over whose stream completed (the source's copy is paused for good once
 * ownership moved, and only its own agent would resume it, and only while it owns the VM), and it
 * drops an incoming QEMU that can never receive the guest. Everything else waits for the source,
 * and so does everything once the source began to take the guest back (it resumes its copy after
 * one journal entry, so no later entry of the target could fence it).
 * Pure: tested over recorded cases.
 */
final class PeerDecision {
    private PeerDecision() {}

    sealed interface Action {
        String why();
    }

    /** Nothing this node can safely do now. */
    record Wait(String why) implements Action {}

    /** The target holds the whole guest: move ownership here (if it has not moved) and run it here. */
    record TakeOver(boolean moveOwner, boolean resume, String why) implements Action {}

    /** The incoming QEMU never ran the guest and can never get it: stop it. */
    record DropTarget(String why) implements Action {}

    static Action decide(JournalState j, String owner, QemuState target) {
        String src = "node '" + j.source() + "'";
        String dst = "node '" + j.target() + "'";
        if (j.last() == MigrationStep.PEER_DONE) {
            return new Wait(dst + " did its part already; the rest waits for " + src);
        }
        if (j.reachedStep(MigrationStep.CLEANUP) || j.reachedStep(MigrationStep.OWNER_BACK)) {
            // the source began to take the guest back, and resumes its copy without another entry
            return new Wait(src + " began to undo the migration; it finishes that when its agent runs again");
        }
        if (!j.online()) {
            return new Wait("an offline move: its volumes and records are left for " + src + " to finish or undo");
        }
        if (!target.exists()) {
            return new Wait("no QEMU of the VM runs on " + dst + ": only " + src + " can resolve the migration");
        }
        boolean ownedHere = owner.equals(j.target());
        if (target.running()) {
            return ownedHere ? new TakeOver(false, false, "the guest already runs on " + dst + ", which owns it")
                    : new Wait("the guest runs on " + dst + " but the store names " + src + " as its owner: left for "
                    + src + "'s agent");
        }
        String stream = target.migration();
        if (stream.equals("completed")) {
            return new TakeOver(!ownedHere, true, "the stream had completed, so " + dst + " holds the whole guest, and "
                    + src + " is down: the hand-over is finished here");
        }
        if (stream.startsWith("postcopy") && ownedHere) {
            return new TakeOver(false, true, "postcopy was under way and ownership had moved to " + dst
                    + ": the guest runs here and pulls the rest of its memory while the source QEMU answers");
        }
        if (stream.equals("failed") || stream.equals("cancelled")) {
            return new DropTarget("the stream from " + src + " " + stream + " and " + src + " is down: the incoming "
                    + "QEMU on " + dst + " never ran the guest and can never receive it");
        }
        if (!j.reachedStep(MigrationStep.MIGRATE) && !ownedHere) {
            return new DropTarget(src + " went down before it started the stream: the incoming QEMU on " + dst
                    + " can never receive the guest");
        }
        return new Wait("the stream from " + src + " is " + stream + ": its QEMU may still run without its agent, "
                + "so " + dst + " waits for the stream to complete or fail");
    }
}
