package ferry.migration.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The bench's stressors, as the samples saw them (MiB/s): S3 rewrites 64 MiB at 48, S2 at 16. */
class WorkingSetTest {
    private static final double MIB = 1 << 20;
    private static final Duration LONG = Duration.ofMillis(2500);

    @Test
    void aGuestThatRewritesItsWorkingSetInTheLongWindowShowsIt() {
        // 48 MiB/s over 64 MiB: 2.5 s sees the 64 MiB once, 25.6 MiB/s
        WorkingSet w = WorkingSet.of(48 * MIB, 64 * MIB / 2.5, LONG);
        assertThat(w.found()).isTrue();
        assertThat(w.workingSetBytes() / MIB).isCloseTo(64, within(0.5));
        assertThat(w.dirtyBytesPerS()).as("the short window's rate still says how fast it writes").isEqualTo(48 * MIB);
    }

    @Test
    void aGuestStillWritingNewPagesKeepsTheLongRate() {
        // 16 MiB/s over 64 MiB: 2.5 s sees 40 MiB, all new; the short sample erred by +20%
        WorkingSet w = WorkingSet.of(19.2 * MIB, 16 * MIB, LONG);
        assertThat(w.found()).isFalse();
        assertThat(w.dirtyBytesPerS()).isEqualTo(16 * MIB);
    }

    @Test
    void anIdleGuestHasNoWorkingSetToFind() {
        assertThat(WorkingSet.of(0, 0, LONG).found()).isFalse();
        assertThat(WorkingSet.of(2 * MIB, MIB, LONG).found()).as("QEMU's whole MiB/s, rounded").isFalse();
        assertThat(WorkingSet.of(0, MIB, LONG).dirtyBytesPerS()).isEqualTo(MIB);
    }

    @Test
    void aFirstPassThatDirtiedFewerPagesASecondThanTheLongerSampleIsASetTheSamplesMissed() {
        // S3 once: the short sample said 33 (for 48), the long one 26 (its 65 MiB set over 2.5 s),
        // 0.79 of it, so no set; a 4.15 s pass then dirtied 65 MiB, 15.7 MiB/s
        assertThat(WorkingSet.of(33 * MIB, 26 * MIB, LONG).found()).isFalse();
        WorkingSet w = WorkingSet.fromPass(26 * MIB, LONG, 33 * MIB, 15.7 * MIB, 65L << 20);
        assertThat(w.found()).isTrue();
        assertThat(w.workingSetBytes()).isEqualTo(65L << 20);
        assertThat(w.dirtyBytesPerS()).as("the faster of the two samples").isEqualTo(33 * MIB);
    }

    @Test
    void aShortWindowThatErredLowLeavesItUnsureAndTheMiddleWindowFindsTheSet() {
        // S3 in a bench: 31 (for 48) over 200 ms, 26 over 2.5 s; alone they said "converges" on a 32 MiB/s link
        WorkingSet two = WorkingSet.of(31 * MIB, 26 * MIB, LONG);
        assertThat(two.found()).isFalse();
        assertThat(two.unsure()).isTrue();
        // 1 s windows on the same guest read 45 to 49 (ten samples on an idle host)
        WorkingSet three = WorkingSet.withMiddle(31 * MIB, 45 * MIB, 26 * MIB, LONG);
        assertThat(three.found()).isTrue();
        assertThat(three.workingSetBytes() / MIB).isCloseTo(65, within(0.5));
        assertThat(three.dirtyBytesPerS()).isEqualTo(45 * MIB);
    }

    @Test
    void aSetRewrittenWithinTheMiddleWindowTooIsPlannedAtTheShortWindowsRate() {
        // 16 MiB rewritten at 80 MiB/s: the middle window sees the 16 MiB once, the long one 6.4 MiB/s
        WorkingSet w = WorkingSet.withMiddle(80 * MIB, 16 * MIB, 16 * MIB / 2.5, LONG);
        assertThat(w.found()).isTrue();
        assertThat(w.workingSetBytes() / MIB).isCloseTo(16, within(0.5));
        assertThat(w.dirtyBytesPerS()).isEqualTo(80 * MIB);
    }

    @Test
    void theMiddleWindowOfAGuestWritingNewPagesFindsNoSet() {
        // S2 at 16 MiB/s: all three windows read about the same
        assertThat(WorkingSet.of(19.2 * MIB, 16 * MIB, LONG).unsure()).isTrue();
        WorkingSet three = WorkingSet.withMiddle(19.2 * MIB, 17 * MIB, 16 * MIB, LONG);
        assertThat(three.found()).isFalse();
        assertThat(three.dirtyBytesPerS()).isEqualTo(16 * MIB);
        assertThat(WorkingSet.of(0, 0, LONG).unsure()).as("an idle guest needs no third look").isFalse();
        assertThat(WorkingSet.of(48 * MIB, 25 * MIB, LONG).unsure()).as("a set found needs none").isFalse();
    }

    @Test
    void aPassThatKeepsUpWithTheLongerSampleFindsNoSet() {
        // S2: 16 MiB/s over a 64 MiB region; a 4 s pass dirtied 64 MiB, 16 MiB/s, as the sample saw
        WorkingSet w = WorkingSet.fromPass(16 * MIB, LONG, 19 * MIB, 16 * MIB, 64L << 20);
        assertThat(w.found()).isFalse();
        assertThat(w.dirtyBytesPerS()).isEqualTo(16 * MIB);
        assertThat(WorkingSet.fromPass(3 * MIB, LONG, 3 * MIB, 1.5 * MIB, 6L << 20).found())
                .as("QEMU's whole MiB/s, rounded").isFalse();
        assertThat(WorkingSet.fromPass(26 * MIB, LONG, 33 * MIB, 0, 65L << 20).found())
                .as("QEMU has no rate for the pass").isFalse();
    }

    @Test
    void aGuestThatCalmedDownDuringThePassIsNoSet() {
        // 26 MiB/s during the sample (65 MiB in 2.5 s), then 10 MiB/s: a 4 s pass dirtied 40 MiB,
        // fewer pages than the sample saw in a shorter window, which no rewritten set can do
        WorkingSet w = WorkingSet.fromPass(26 * MIB, LONG, 33 * MIB, 10 * MIB, 40L << 20);
        assertThat(w.found()).isFalse();
    }

    /**
     * S3's set found with a low short reading (36 for the guest's 48 MiB/s, recorded): the 1 s window
     * read 47, the rate a pass faces. A set rewritten within 1 s too (80 MiB/s over 16 MiB) reads its
     * size there: the short rate stands. No set, nothing to steady.
     */
    @Test
    void theMiddleWindowSteadiesTheRateOfASetFoundButNotOfOneItSawWhole() {
        WorkingSet found = WorkingSet.of(36 * MIB, 62.5 * MIB / 2.5, LONG);
        assertThat(found.found()).isTrue();
        WorkingSet steady = WorkingSet.steadied(found, 47 * MIB, WorkingSet.MIDDLE);
        assertThat(steady.dirtyBytesPerS()).isEqualTo(47 * MIB);
        assertThat(steady.workingSetBytes()).isEqualTo(found.workingSetBytes());

        WorkingSet fast = WorkingSet.of(80 * MIB, 16 * MIB / 2.5, LONG);
        assertThat(fast.found()).isTrue();
        assertThat(WorkingSet.steadied(fast, 16 * MIB, WorkingSet.MIDDLE)).isEqualTo(fast);

        WorkingSet none = WorkingSet.of(16 * MIB, 16 * MIB, LONG);
        assertThat(WorkingSet.steadied(none, 30 * MIB, WorkingSet.MIDDLE)).isEqualTo(none);
    }
}
