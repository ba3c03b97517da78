package ferry.migration.phase;

import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The stream's rate from QEMU's transferred counter over the last second or more. QEMU's rate
 * limit lets each 100 ms window open with a burst at wire speed, so between two polls close
 * together (they come quicker near a pass's end) the counter shows several times the limit:
 * 122 MiB/s was judged behind a 32 MiB/s limit. Over a second the windows average out; and in
 * pre-copy the rate is never taken above the limit QEMU enforces.
 */
final class LinkRate {
    static final long WINDOW_NANOS = 1_000_000_000L;
    private final ArrayDeque<long[]> seen = new ArrayDeque<>();

    /**
     * Adds what QEMU reported at {@code nanos} and returns the rate over the window, in bytes per
     * second: {@code fallback} (QEMU's own figure) until the counter has moved since the oldest
     * observation kept; at most {@code capBytesPerS} when that is positive.
     */
    double add(long nanos, long transferred, double fallback, double capBytesPerS) {
        seen.addLast(new long[] {nanos, transferred});
        while (seen.size() > 2 && nanos - second()[0] >= WINDOW_NANOS) {
            seen.removeFirst(); // the next oldest still spans a whole window
        }
        long[] first = seen.peekFirst();
        double rate = nanos > first[0] && transferred > first[1]
                ? (transferred - first[1]) / ((nanos - first[0]) / 1e9) : fallback;
        return capBytesPerS > 0 ? Math.min(rate, capBytesPerS) : rate;
    }

    private long[] second() {
        Iterator<long[]> it = seen.iterator();
        it.next();
        return it.next();
    }
}
