package ferry.migration.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.migration.MigrationStep;
import ferry.migration.TargetNode.QemuState;
import ferry.migration.recovery.RecoveryDecision.Facts;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The recovery rules over recorded journals and facts: which side keeps the guest after each crash. */
class RecoveryDecisionTest {
    private static final QemuState GONE = QemuState.NONE;
    private static final QemuState MIGRATING = new QemuState(true, "running", "active");
    private static final QemuState POSTMIGRATE = new QemuState(true, "postmigrate", "completed");
    private static final QemuState INCOMING = new QemuState(true, "inmigrate", "active");
    private static final QemuState RECEIVED = new QemuState(true, "paused", "completed");
    private static final QemuState RUNNING_TARGET = new QemuState(true, "running", "completed");
    private static final QemuState SRC_POSTCOPY = new QemuState(true, "postmigrate", "postcopy-active");
    private static final QemuState DST_POSTCOPY = new QemuState(true, "paused", "postcopy-active");

    private static JournalState journal(boolean userPaused, MigrationStep... steps) {
        Set<MigrationStep> reached = EnumSet.of(MigrationStep.LOCK, steps);
        return new JournalState("t", 100, "a", "b", true, userPaused, reached, steps[steps.length - 1], List.of(),
                List.of(), List.of(), -1);
    }

    private static RecoveryDecision.Action decide(JournalState j, String owner, QemuState src, QemuState dst) {
        return RecoveryDecision.decide(j, new Facts(owner, src, dst));
    }

    @Test
    void aCrashDuringPrecopyRollsBackAndResumesOnlyWhatTheMigrationPaused() {
        var j = journal(false, MigrationStep.START_INCOMING, MigrationStep.MIGRATE);
        assertThat(decide(j, "a", MIGRATING, INCOMING)).isEqualTo(new RecoveryDecision.RollBack(true, true,
                "ownership had not moved: the guest stays on node 'a'"));
        var paused = journal(true, MigrationStep.START_INCOMING, MigrationStep.MIGRATE);
        assertThat(decide(paused, "a", MIGRATING, INCOMING)).isInstanceOfSatisfying(RecoveryDecision.RollBack.class,
                rb -> assertThat(rb.resumeSource()).isFalse());
    }

    @Test
    void aStreamThatConvergedWhileTheAgentWasDeadIsRolledBackBeforeTheHandOver() {
        // the "paused on both nodes": ownership never moved, so the source takes the guest back
        var j = journal(false, MigrationStep.MIGRATE);
        assertThat(decide(j, "a", POSTMIGRATE, RECEIVED)).isInstanceOf(RecoveryDecision.RollBack.class);
    }

    @Test
    void afterTheOwnershipMovedTheHandOverIsFinished() {
        var j = journal(false, MigrationStep.MIGRATE, MigrationStep.MOVE_OWNER);
        assertThat(decide(j, "b", POSTMIGRATE, RECEIVED)).isEqualTo(new RecoveryDecision.Finish(false, true, false,
                "the guest waits paused on node 'b' with its whole state: resume it there"));
        var resumed = journal(false, MigrationStep.MOVE_OWNER, MigrationStep.RESUME_TARGET);
        assertThat(decide(resumed, "b", POSTMIGRATE, RUNNING_TARGET)).isInstanceOfSatisfying(
                RecoveryDecision.Finish.class, f -> assertThat(f.resumeTarget()).isFalse());
    }

    @Test
    void aTargetThatDiedBeforeItWasToldToRunGivesTheGuestBack() {
        var j = journal(false, MigrationStep.MIGRATE, MigrationStep.MOVE_OWNER);
        assertThat(decide(j, "b", POSTMIGRATE, GONE)).isInstanceOfSatisfying(RecoveryDecision.OwnerBack.class,
                ob -> assertThat(ob.resumeSource()).isTrue());
    }

    @Test
    void aTargetThatDiedAfterItWasToldToRunIsNeverReplacedByTheOlderSource() {
        var j = journal(false, MigrationStep.MOVE_OWNER, MigrationStep.RESUME_TARGET);
        assertThat(decide(j, "b", POSTMIGRATE, GONE)).isInstanceOf(RecoveryDecision.GuestLost.class);
    }

    @Test
    void anUnreachableTargetKeepsTheSourcePausedAndWaits() {
        var j = journal(false, MigrationStep.MOVE_OWNER, MigrationStep.RESUME_TARGET);
        assertThat(decide(j, "b", POSTMIGRATE, null)).isInstanceOf(RecoveryDecision.Wait.class);
        assertThat(decide(journal(false, MigrationStep.MIGRATE), "a", MIGRATING, null))
                .isInstanceOf(RecoveryDecision.Wait.class);
    }

    @Test
    void postcopyIsFinishedForwardWhileBothQemusLive() {
        var j = journal(false, MigrationStep.MIGRATE, MigrationStep.START_POSTCOPY);
        assertThat(decide(j, "a", SRC_POSTCOPY, DST_POSTCOPY)).isEqualTo(new RecoveryDecision.Finish(true, true, true,
                "postcopy was under way: the target holds the device state and pulls the rest; finish the hand-over "
                        + "to node 'b'"));
        var moved = journal(false, MigrationStep.START_POSTCOPY, MigrationStep.MOVE_OWNER, MigrationStep.RESUME_TARGET);
        assertThat(decide(moved, "b", SRC_POSTCOPY, new QemuState(true, "running", "postcopy-active")))
                .isEqualTo(new RecoveryDecision.Finish(false, false, true, "the guest runs on node 'b': finish the "
                        + "hand-over"));
    }

    @Test
    void aSourceThatDiesDuringPostcopyLeavesNoGuestToKeep() {
        var j = journal(false, MigrationStep.START_POSTCOPY, MigrationStep.MOVE_OWNER, MigrationStep.RESUME_TARGET,
                MigrationStep.FOLLOW_POSTCOPY);
        assertThat(decide(j, "b", GONE, new QemuState(true, "running", "postcopy-paused")))
                .isInstanceOf(RecoveryDecision.GuestLost.class);
    }

    @Test
    void aSourceThatDiedAfterTheStreamCompletedIsRescuedByTheTarget() {
        var j = journal(false, MigrationStep.MIGRATE);
        assertThat(decide(j, "a", GONE, RECEIVED)).isInstanceOfSatisfying(RecoveryDecision.Finish.class,
                f -> assertThat(f.moveOwner()).isTrue());
        assertThat(decide(j, "a", GONE, INCOMING)).isInstanceOf(RecoveryDecision.GuestLost.class);
    }

    @Test
    void anOfflineMoveIsFinishedOrUndoneByTheOwner() {
        var j = new JournalState("t", 100, "a", "b", false, false, EnumSet.of(MigrationStep.LOCK,
                MigrationStep.COPY_VOLUME), MigrationStep.COPY_VOLUME, List.of(), List.of(), List.of(), -1);
        assertThat(decide(j, "a", GONE, GONE)).isInstanceOf(RecoveryDecision.RollBack.class);
        assertThat(decide(j, "b", GONE, GONE)).isInstanceOf(RecoveryDecision.Finish.class);
        assertThat(decide(j, "a", GONE, null)).isInstanceOf(RecoveryDecision.Wait.class);
    }
}
