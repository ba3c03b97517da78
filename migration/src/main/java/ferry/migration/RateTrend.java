package ferry.migration;

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
    private int throttle = -1;

    void add(double dirtyBytesPerS, double linkBytesPerS, int throttlePercent) {
        if (throttlePercent != throttle) {
            dirty.clear();
            throttle = throttlePercent;
        }
        push(dirty, dirtyBytesPerS);
        push(link, linkBytesPerS);
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
