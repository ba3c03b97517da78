package ferry.cli;

import ferry.testkit.LinuxStressGuest.Tick;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleFunction;

/**
 * What a migration cost the guest, from the linux-stress stressor's ticks: the work it did during
 * the migration ÷ (its rate before × the migration's duration). 1 means untouched; a guest
 * throttled to a fifth of its CPU shows about 0.2.
 *
 * <p>The work is counted in the stressor's loop slices (100 a second when it gets the CPU on
 * time, whatever its dirty rate); the MiB it dirtied give the same ratio in bytes
 * ({@link #dirtyRatio}). Neither hides a throttle: the stressor makes up at most one slice after a
 * late wake-up, and nothing for a pause (its clock stops with the VM). Held at an 80% throttle it
 * runs about 40% of both (LinuxStressGuestTest); it needs only a sliver of CPU per slice, so it
 * keeps more than the 20% a guest that needs the whole CPU would.
 *
 * <p>Time is the guest's own wall clock, which the stressor keeps on the host's across pauses
 * (from the RTC, 1-3 s after the resume): the migration's window is mapped onto it with the
 * offset seen when the run started.
 *
 * @param before ticks from the few seconds before the migration (the guest's rate then)
 * @param all    every tick seen, source and target (the sequence numbers carry across the migration)
 * @param fromMs the migration's start on the guest's clock
 * @param toMs   its end on the guest's clock
 */
record GuestWork(List<Tick> before, Collection<Tick> all, long fromMs, long toMs) {
    /** Slices done ÷ slices the rate before would have done; null without the figures. */
    Double workRatio() {
        return before.stream().anyMatch(t -> t.slices() < 0) ? null : ratio(t -> t.slices());
    }

    /** The same in dirtied MiB: what the stressor's catching up leaves of the cost. */
    Double dirtyRatio() {
        return ratio(Tick::dirtiedMiB);
    }

    private Double ratio(ToDoubleFunction<Tick> work) {
        if (before.size() < 2 || toMs <= fromMs) {
            return null;
        }
        Tick a = before.getFirst();
        Tick b = before.getLast();
        if (b.wallMs() <= a.wallMs()) {
            return null;
        }
        double ratePerMs = (work.applyAsDouble(b) - work.applyAsDouble(a)) / (b.wallMs() - a.wallMs());
        Double start = at(fromMs, work);
        Double end = at(toMs, work);
        if (start == null || end == null || ratePerMs <= 0) {
            return null;
        }
        return (end - start) / (ratePerMs * (toMs - fromMs));
    }

    /** The work done by guest time {@code ms}, between the two ticks around it; null outside the ticks. */
    private Double at(long ms, ToDoubleFunction<Tick> work) {
        Map<Long, Tick> bySeq = new TreeMap<>();
        all.forEach(t -> bySeq.putIfAbsent(t.seq(), t));
        Tick prev = null;
        for (Tick t : bySeq.values()) {
            if (t.wallMs() >= ms) {
                if (prev == null) {
                    return t.wallMs() == ms ? work.applyAsDouble(t) : null;
                }
                double span = Math.max(1, t.wallMs() - prev.wallMs());
                double share = Math.min(1, Math.max(0, (ms - prev.wallMs()) / span));
                return work.applyAsDouble(prev) + share * (work.applyAsDouble(t) - work.applyAsDouble(prev));
            }
            prev = t;
        }
        return null;
    }
}
