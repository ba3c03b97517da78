package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.testkit.LinuxStressGuest.Tick;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The guest's work from recorded ticks: the stressor runs 100 slices a second and dirties 48 MiB/s;
 * held at an 80% throttle it was seen to run 40% of both (LinuxStressGuestTest).
 */
class GuestWorkTest {
    /** Ticks every 100 ms from {@code fromMs}, at a share of the full 100 slices/s and of 48 MiB/s. */
    private static List<Tick> ticks(long seq0, long fromMs, long toMs, long slices0, double mib0, double sliceShare,
                                    double dirtyShare) {
        List<Tick> out = new ArrayList<>();
        long seq = seq0;
        for (long t = fromMs; t <= toMs; t += 100) {
            double s = (t - fromMs) / 1000.0;
            out.add(new Tick(seq++, t, mib0 + 48 * dirtyShare * s, slices0 + Math.round(100 * sliceShare * s)));
        }
        return out;
    }

    private static final List<Tick> BEFORE = List.of(new Tick(0, 0, 0, 0), new Tick(30, 3000, 144, 300));

    @Test
    void anUntouchedGuestDidAllItsWork() {
        List<Tick> all = ticks(0, 0, 20_000, 0, 0, 1, 1);
        GuestWork w = new GuestWork(BEFORE, all, 5000, 15_000);
        assertThat(w.workRatio()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(0.02));
        assertThat(w.dirtyRatio()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(0.02));
    }

    @Test
    void aThrottledWindowCountsOnlyWhatTheGuestDidInIt() {
        // 5 s untouched, then 10 s held at 80% (40% of its slices, 41% of its MiB), then on the target
        List<Tick> source = new ArrayList<>(ticks(0, 0, 5000, 0, 0, 1, 1));
        source.addAll(ticks(51, 5100, 15_000, 500, 240, 0.4, 0.41).subList(0, 99));
        List<Tick> target = ticks(150, 15_000, 20_000, 900, 240 + 48 * 0.41 * 9.9, 1, 1);
        List<Tick> all = new ArrayList<>(source);
        all.addAll(target);
        GuestWork w = new GuestWork(BEFORE, all, 5000, 15_000);
        assertThat(w.workRatio()).isCloseTo(0.4, org.assertj.core.data.Offset.offset(0.03));
        assertThat(w.dirtyRatio()).isCloseTo(0.41, org.assertj.core.data.Offset.offset(0.03));
        // over the whole 20 s, half of it throttled: (10 s + 0.4 x 10 s) / 20 s
        assertThat(new GuestWork(BEFORE, all, 0, 20_000).workRatio())
                .isCloseTo(0.7, org.assertj.core.data.Offset.offset(0.03));
    }

    @Test
    void aPauseCountsAsNoWorkAndTheTicksOfBothNodesJoinBySequence() {
        // 1 s paused at the hand-over: no slices, the sequence goes on on the target
        List<Tick> all = new ArrayList<>(ticks(0, 0, 9000, 0, 0, 1, 1));
        all.addAll(ticks(91, 10_000, 20_000, 900, 432, 1, 1));
        all.add(new Tick(40, 4000, 192, 400)); // the same tick seen twice (source log read again)
        GuestWork w = new GuestWork(BEFORE, all, 5000, 15_000);
        assertThat(w.workRatio()).isCloseTo(0.9, org.assertj.core.data.Offset.offset(0.02));
    }

    @Test
    void withoutTicksAroundTheWindowOrWithoutSlicesThereIsNoRatio() {
        List<Tick> all = ticks(0, 0, 10_000, 0, 0, 1, 1);
        assertThat(new GuestWork(BEFORE, all, 5000, 15_000).workRatio()).as("no tick after the end").isNull();
        assertThat(new GuestWork(List.of(), all, 1000, 5000).workRatio()).as("no rate before").isNull();
        List<Tick> old = List.of(new Tick(0, 0, 0), new Tick(30, 3000, 144));
        assertThat(new GuestWork(old, all, 1000, 5000).workRatio()).as("a stressor without slices").isNull();
        assertThat(new GuestWork(old, all, 1000, 5000).dirtyRatio()).isNotNull();
    }
}
