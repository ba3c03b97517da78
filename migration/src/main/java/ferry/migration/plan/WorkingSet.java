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
     * The stream's first pass as a third window, for a guest whose two samples showed no working
     * set (the short one can err low by a third: S3's 48 MiB/s measured 33). QEMU's dirty rate
     * after a pass is the pages dirtied during it over its length; a guest still writing new pages
     * shows about the longer sample's rate there too. Well below it, over a pass longer than the
     * sample, the guest rewrote pages it had already dirtied: the pass's pages are its set, written
     * at least as fast as either sample saw.
     *
     * @param sampleBytesPerS      the longer sample's rate, which the plan took
     * @param firstSampleBytesPerS the short sample's rate
     * @param passBytesPerS        QEMU's dirty rate at the second pass's start
     * @param pass                 the first pass's length
     */
    public static WorkingSet fromPass(double sampleBytesPerS, double firstSampleBytesPerS, double passBytesPerS,
                                      Duration pass) {
        // QEMU's 0 is a rate not computed yet (its sync came within a second of the last), not a set
        if (passBytesPerS > 0 && passBytesPerS < SATURATED * sampleBytesPerS
                && sampleBytesPerS - passBytesPerS >= MIN_DROP_BYTES_PER_S) {
            return new WorkingSet(Math.max(sampleBytesPerS, firstSampleBytesPerS),
                    (long) (passBytesPerS * pass.toMillis() / 1000.0));
        }
        return new WorkingSet(sampleBytesPerS, -1);
    }

    /** From the short window's rate and the long window's. */
    public static WorkingSet of(double shortBytesPerS, double longBytesPerS, Duration longWindow) {
        if (longBytesPerS < SATURATED * shortBytesPerS && shortBytesPerS - longBytesPerS >= MIN_DROP_BYTES_PER_S) {
            return new WorkingSet(shortBytesPerS, (long) (longBytesPerS * longWindow.toMillis() / 1000.0));
        }
        return new WorkingSet(longBytesPerS, -1);
    }
}
