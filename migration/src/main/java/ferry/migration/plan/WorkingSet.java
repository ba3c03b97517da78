package ferry.migration.plan;

import java.time.Duration;

/**
 * What a second, longer dirty-rate sample says beside the short pre-flight one. Sampling counts
 * each page once however often it was written, so over a window long enough for the guest to
 * rewrite its working set the rate falls below the short window's: the pages seen dirty then are
 * the working set, and every later pass resends at most that. When the long rate keeps up with
 * the short one the guest is still writing new pages, and the long rate is the steadier figure
 * (it counts many more changed pages).
 *
 * @param dirtyBytesPerS  the rate to plan with
 * @param workingSetBytes the working set seen, or -1 when the long window did not reach it
 */
public record WorkingSet(double dirtyBytesPerS, long workingSetBytes) {
    /**
     * The long rate must fall below this share of the short one to count as a working set rewritten.
     * The short (200 ms) rate varies by about 14% (one sigma) at 16 MiB/s on a 256 MiB guest: a
     * guest still writing new pages falls below 0.75 only when that sample erred by 2.4 sigma.
     */
    static final double SATURATED = 0.75;
    /** QEMU reports whole MiB/s: a guest at 1-2 MiB/s drops by one in rounding alone. */
    static final double MIN_DROP_BYTES_PER_S = 2 << 20;

    public boolean found() {
        return workingSetBytes >= 0;
    }

    /**
     * No set seen, yet a guest that writes: the short window alone then decided, and it errs low
     * by up to a third while the host is busy starting the target (S3's 48 MiB/s read 31, and its
     * 2.5 s window's 26 hid the set). A steadier window of {@link #MIDDLE} judges instead.
     */
    public boolean unsure() {
        return !found() && dirtyBytesPerS >= MIN_DROP_BYTES_PER_S;
    }

    /**
     * The third window, between the two: it counts five times the short window's pages, so it
     * errs by a few percent where the short one erred by fifteen, and a guest rewriting a set of
     * tens of MiB at tens of MiB/s has not come round to it again (S3: 48 MiB of its 64). Where it
     * has, it sees the whole set, still well above the long window's rate.
     */
    public static final Duration MIDDLE = Duration.ofSeconds(1);

    /**
     * The stream's first pass as a third window, for a guest whose two samples showed no working
     * set (the short one can err low by a third: S3's 48 MiB/s measured 33). At the second pass's
     * start QEMU's dirty rate is the pages the first pass dirtied over its length, and what is left
     * to send is those pages. A guest still writing new pages shows about the longer sample's rate
     * there too, and one that calmed down dirtied fewer pages than the sample saw. Well below the
     * sample's rate with at least the pages the sample saw, over a longer window, the guest rewrote
     * pages it had already dirtied: the pass's pages are its set, written at least as fast as
     * either sample saw.
     *
     * @param sample               the longer sample's rate, which the plan took, and its window
     * @param firstSampleBytesPerS the short sample's rate
     * @param passBytesPerS        QEMU's dirty rate at the second pass's start
     * @param passDirtyBytes       what the second pass has to send, at its start
     */
    public static WorkingSet fromPass(double sampleBytesPerS, Duration sample, double firstSampleBytesPerS,
                                      double passBytesPerS, long passDirtyBytes) {
        // QEMU's 0 is no rate for the pass (seen at times even after a 4 s pass), not a set
        boolean slower = passBytesPerS > 0 && passBytesPerS < SATURATED * sampleBytesPerS
                && sampleBytesPerS - passBytesPerS >= MIN_DROP_BYTES_PER_S;
        boolean asMany = passDirtyBytes >= SAME_PAGES * sampleBytesPerS * sample.toMillis() / 1000.0;
        if (slower && asMany) {
            return new WorkingSet(Math.max(sampleBytesPerS, firstSampleBytesPerS), passDirtyBytes);
        }
        return new WorkingSet(sampleBytesPerS, -1);
    }

    /** The pass saw "the pages the sample saw" down to this share of them (QEMU's whole MiB/s, the sample's error). */
    static final double SAME_PAGES = 0.9;

    /**
     * From the {@linkplain #MIDDLE middle} window standing in for the short one (see {@link #unsure}).
     * A set it shows is planned at the faster of the two: a set rewritten within the middle window
     * too reads only its size there, and was written at least as fast as either window saw.
     */
    public static WorkingSet withMiddle(double shortBytesPerS, double middleBytesPerS, double longBytesPerS,
                                        Duration longWindow) {
        WorkingSet w = of(middleBytesPerS, longBytesPerS, longWindow);
        return w.found() ? new WorkingSet(Math.max(shortBytesPerS, w.dirtyBytesPerS), w.workingSetBytes) : w;
    }

    /**
     * A set the two windows found, its rate taken again over the {@linkplain #MIDDLE middle} window,
     * which counts five times the short one's pages: S3's 48 MiB/s read 36 to 57 over 200 ms and
     * 45 to 49 over 1 s. How fast the guest writes decides whether each pass still finds the whole
     * set dirty, and so whether a throttle or xbzrle's shorter passes make it shrink. Where the
     * middle window saw about the whole set, the guest rewrote it within that window too, and the
     * window read the set's size, not the rate: the short one's stands.
     */
    public static WorkingSet steadied(WorkingSet found, double middleBytesPerS, Duration middle) {
        if (!found.found() || middleBytesPerS * middle.toMillis() / 1000.0 >= SAME_PAGES * found.workingSetBytes) {
            return found;
        }
        return new WorkingSet(middleBytesPerS, found.workingSetBytes);
    }

    /** From the short window's rate and the long window's. */
    public static WorkingSet of(double shortBytesPerS, double longBytesPerS, Duration longWindow) {
        if (longBytesPerS < SATURATED * shortBytesPerS && shortBytesPerS - longBytesPerS >= MIN_DROP_BYTES_PER_S) {
            return new WorkingSet(shortBytesPerS, (long) (longBytesPerS * longWindow.toMillis() / 1000.0));
        }
        return new WorkingSet(longBytesPerS, -1);
    }
}
