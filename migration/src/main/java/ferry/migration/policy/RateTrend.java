package ferry.migration.policy;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The dirty rate and the link rate over the last few judged passes, averaged: QEMU's figures for a
 * single pass swing widely (the first one most of all, measured over a pass that started with
 * every page dirty), so a decision rests on the mean of up to {@link #WINDOW} passes. A change of
 * the throttle makes the earlier dirty rates stale: they are dropped.
 */
final class RateTrend {
    static final int WINDOW = 3;
    private final Deque<Double> dirty = new ArrayDeque<>();
    private final Deque<Double> link = new ArrayDeque<>();
    /** What was left at the start of each judged pass over what was left at the one before. */
    private final Deque<Double> shrink = new ArrayDeque<>();
    private int throttle = -1;
    private long lastRemaining = -1;

    /** One judged pass: its rates and what was left to send when it began. */
    void add(double dirtyBytesPerS, double linkBytesPerS, int throttlePercent, long remainingBytes) {
        if (throttlePercent != throttle) {
            dirty.clear();
            shrink.clear();
            throttle = throttlePercent;
        } else if (lastRemaining > 0) {
            push(shrink, remainingBytes / (double) lastRemaining);
        }
        lastRemaining = remainingBytes;
        push(dirty, dirtyBytesPerS);
        push(link, linkBytesPerS);
    }

    /**
     * How much of what was left each pass leaves for the next, as observed (NaN before two passes
     * were seen): QEMU's rates miss the cost of each pass's bitmap sync and of pages dirtied twice,
     * so a guest at 90% of the link by the rates may in truth leave as much as it found.
     */
    double shrinkRatio() {
        return shrink.isEmpty() ? Double.NaN : mean(shrink);
    }

    double dirtyBytesPerS() {
        return mean(dirty);
    }

    double linkBytesPerS() {
        return mean(link);
    }

    private static void push(Deque<Double> d, double v) {
        d.addLast(v);
        if (d.size() > WINDOW) {
            d.removeFirst();
        }
    }

    private static double mean(Deque<Double> d) {
        return d.stream().mapToDouble(Double::doubleValue).average().orElse(0);
    }
}
