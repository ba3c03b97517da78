package ferry.migration.recovery;

import ferry.migration.MigrationStep;
import ferry.migration.TargetNode.QemuState;

/**
 * How to resolve an interrupted migration, decided from its journal and the facts found now
 * (the store's owner, the VM's QEMUs on both nodes). Pure: tested over recorded cases.
 *
 * <p>The rules keep the invariants: a target that was never told to run the guest may be thrown
 * away, and the source resumed; once it may have run the guest, the source's copy is older than
 * the guest and is never resumed. Ownership in the store says which side the hand-over reached.
 */
final class RecoveryDecision {
    private RecoveryDecision() {}

    /** What was found: the store's owner and the VM's QEMU on each node (null: that node does not answer). */
    record Facts(String owner, QemuState source, QemuState target) {}

    sealed interface Action {
        String why();
    }

    /** A node needed to decide or act does not answer: try again later; nothing is changed meanwhile. */
    record Wait(String why) implements Action {}

    /**
     * Before the hand-over: undo. Cancel the source's stream, resume the source (unless the user
     * had paused it), stop the target QEMU, free the target's copies, drop the lock.
     */
    record RollBack(boolean cancelSource, boolean resumeSource, String why) implements Action {}

    /**
     * Finish the hand-over: move ownership (if it has not moved), resume the target (if it is not
     * running), follow postcopy to its end, stop the source, free the source's copies, unlock.
     */
    record Finish(boolean moveOwner, boolean resumeTarget, boolean followPostcopy, String why) implements Action {}

    /** The target died before it ever ran the guest: ownership back to the source, which resumes. */
    record OwnerBack(boolean resumeSource, String why) implements Action {}

    /**
     * No QEMU holds the whole guest any more: stop what is left, drop the lock, and say so; the
     * VM is stopped on its owner (like a crash of the guest) and can be started again.
     */
    record GuestLost(String why) implements Action {}

    static Action decide(JournalState j, Facts f) {
        String src = "node '" + j.source() + "'";
        String dst = "node '" + j.target() + "'";
        boolean movedOwner = f.owner().equals(j.target());
        if (!j.online()) {
            // an offline move: only volumes and the records change
            if (movedOwner) {
                return new Finish(false, false, false, "ownership already moved to " + dst + ": free the source's copies");
            }
            return f.target() == null ? new Wait(dst + " does not answer; its partial volume copies are freed when it does")
                    : new RollBack(false, false, "the volumes had not all moved: free the copies on " + dst);
        }
        if (f.source() == null) {
            return new Wait(src + " does not answer"); // the orchestrator's own node: cannot happen in practice
        }
        boolean postcopy = j.reachedStep(MigrationStep.START_POSTCOPY) && f.source().migration().startsWith("postcopy");
        if (f.target() == null) {
            return new Wait(dst + " does not answer; the guest waits paused on " + src
                    + (movedOwner ? " with its whole state on " + dst : "") + " until it does");
        }
        if (!f.source().exists() && f.target().exists() && f.target().migration().startsWith("postcopy")) {
            return new GuestLost("the source QEMU on " + src + " died during postcopy: the pages only it held are "
                    + "lost, so the guest on " + dst + " cannot go on");
        }
        boolean targetHasAll = f.target().exists() && (f.target().migration().equals("completed")
                || f.target().migration().startsWith("postcopy") || f.target().running());
        if (!movedOwner) {
            if (postcopy && f.target().exists()) {
                return new Finish(true, true, true, "postcopy was under way: the target holds the device state and "
                        + "pulls the rest; finish the hand-over to " + dst);
            }
            if (!f.source().exists()) {
                if (targetHasAll && f.target().migration().equals("completed")) {
                    return new Finish(true, true, false, "the source QEMU is gone but the stream had completed: " + dst
                            + " holds the whole guest; hand it over");
                }
                return new GuestLost("the source QEMU on " + src + " is gone and " + dst + " never received the whole "
                        + "guest: the guest is stopped");
            }
            if (postcopy) {
                return new GuestLost("postcopy was under way and the target QEMU on " + dst + " is gone: the guest's "
                        + "newest pages were lost with it");
            }
            return new RollBack(true, !j.userPaused(), "ownership had not moved: the guest stays on " + src);
        }
        // ownership moved: the target is the VM's home now
        if (f.target().exists() && targetHasAll) {
            boolean follow = f.source().exists() && f.source().migration().startsWith("postcopy");
            return new Finish(false, !f.target().running(), follow, f.target().running()
                    ? "the guest runs on " + dst + ": finish the hand-over"
                    : "the guest waits paused on " + dst + " with its whole state: resume it there");
        }
        boolean neverRan = !j.reachedStep(MigrationStep.RESUME_TARGET) || j.reachedStep(MigrationStep.TARGET_GONE);
        if (neverRan && !postcopy) {
            return new OwnerBack(f.source().exists() && !j.userPaused(), "the target QEMU on " + dst
                    + " is gone and never ran the guest: the guest goes back to " + src);
        }
        return new GuestLost("the target QEMU on " + dst + " is gone after it was told to run the guest; the copy on "
                + src + " is older than what the guest may have done since, so it is not resumed");
    }
}
