package ferry.migration.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.migration.MigrationStep;
import ferry.migration.TargetNode.QemuState;
import ferry.migration.recovery.PeerDecision.DropTarget;
import ferry.migration.recovery.PeerDecision.TakeOver;
import ferry.migration.recovery.PeerDecision.Wait;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What the target's agent may do while the source node is down, over recorded journals and facts. */
class PeerDecisionTest {
    private static final QemuState INCOMING = new QemuState(true, "inmigrate", "active");
    private static final QemuState WAITING = new QemuState(true, "inmigrate", "none");
    private static final QemuState RECEIVED = new QemuState(true, "paused", "completed");
    private static final QemuState RUNNING = new QemuState(true, "running", "completed");
    private static final QemuState FAILED = new QemuState(true, "inmigrate", "failed");
    private static final QemuState POSTCOPY = new QemuState(true, "paused", "postcopy-active");

    private static JournalState journal(boolean online, MigrationStep... steps) {
        Set<MigrationStep> reached = EnumSet.of(MigrationStep.LOCK, steps);
        return new JournalState("t", 100, "a", "b", online, false, reached, steps[steps.length - 1], List.of(),
                List.of(), List.of(), -1);
    }

    private static JournalState online(MigrationStep... steps) {
        return journal(true, steps);
    }

    @Test
    void aCompletedStreamIsHandedOverHereEvenBeforeOwnershipMoved() {
        var j = online(MigrationStep.START_INCOMING, MigrationStep.MIGRATE);
        assertThat(PeerDecision.decide(j, "a", RECEIVED)).isInstanceOfSatisfying(TakeOver.class, t -> {
            assertThat(t.moveOwner()).isTrue();
            assertThat(t.resume()).isTrue();
            assertThat(t.why()).contains("holds the whole guest").contains("node 'a' is down");
        });
        var moved = online(MigrationStep.MIGRATE, MigrationStep.MOVE_OWNER);
        assertThat(PeerDecision.decide(moved, "b", RECEIVED)).isEqualTo(new TakeOver(false, true,
                "the stream had completed, so node 'b' holds the whole guest, and node 'a' is down: the hand-over is "
                        + "finished here"));
        var running = online(MigrationStep.MOVE_OWNER, MigrationStep.RESUME_TARGET);
        assertThat(PeerDecision.decide(running, "b", RUNNING)).isInstanceOfSatisfying(TakeOver.class,
                t -> assertThat(t.resume() || t.moveOwner()).isFalse());
    }

    @Test
    void aStreamStillUnderWayWaitsBecauseTheSourceQemuMayBeAliveWithoutItsAgent() {
        var j = online(MigrationStep.START_INCOMING, MigrationStep.MIGRATE);
        assertThat(PeerDecision.decide(j, "a", INCOMING)).isInstanceOfSatisfying(Wait.class,
                w -> assertThat(w.why()).contains("may still run without its agent"));
        assertThat(PeerDecision.decide(j, "a", WAITING)).isInstanceOf(Wait.class);
    }

    @Test
    void anIncomingQemuThatCanNeverGetTheGuestIsDropped() {
        var j = online(MigrationStep.START_INCOMING, MigrationStep.MIGRATE);
        assertThat(PeerDecision.decide(j, "a", FAILED)).isInstanceOf(DropTarget.class);
        var notStarted = online(MigrationStep.START_INCOMING);
        assertThat(PeerDecision.decide(notStarted, "a", WAITING)).isInstanceOfSatisfying(DropTarget.class,
                d -> assertThat(d.why()).contains("before it started the stream"));
    }

    @Test
    void onceTheSourceBeganToTakeTheGuestBackTheTargetNeverTakesItOver() {
        var cleaning = online(MigrationStep.MIGRATE, MigrationStep.CLEANUP);
        assertThat(PeerDecision.decide(cleaning, "a", RECEIVED)).isInstanceOf(Wait.class);
        var back = online(MigrationStep.MOVE_OWNER, MigrationStep.TARGET_GONE, MigrationStep.OWNER_BACK);
        assertThat(PeerDecision.decide(back, "a", RECEIVED)).isInstanceOf(Wait.class);
    }

    @Test
    void postcopyIsTakenOnOnlyOnceOwnershipMoved() {
        var j = online(MigrationStep.MIGRATE, MigrationStep.START_POSTCOPY);
        assertThat(PeerDecision.decide(j, "a", POSTCOPY)).isInstanceOf(Wait.class);
        var moved = online(MigrationStep.START_POSTCOPY, MigrationStep.MOVE_OWNER);
        assertThat(PeerDecision.decide(moved, "b", POSTCOPY)).isInstanceOf(TakeOver.class);
    }

    @Test
    void offlineMovesNoQemuAndADonePartAreLeftToTheSource() {
        assertThat(PeerDecision.decide(journal(false, MigrationStep.COPY_VOLUME), "a", QemuState.NONE))
                .isInstanceOf(Wait.class);
        assertThat(PeerDecision.decide(online(MigrationStep.MIGRATE), "a", QemuState.NONE)).isInstanceOfSatisfying(
                Wait.class, w -> assertThat(w.why()).contains("only node 'a' can resolve"));
        var done = online(MigrationStep.MIGRATE, MigrationStep.PEER_RECOVER, MigrationStep.TARGET_RUNNING,
                MigrationStep.PEER_DONE);
        assertThat(PeerDecision.decide(done, "b", RUNNING)).isInstanceOf(Wait.class);
        assertThat(PeerDecision.decide(online(MigrationStep.MIGRATE), "a", RUNNING)).isInstanceOf(Wait.class);
    }
}
