package ferry.migration.phase;

import ferry.migration.Sizes;
import ferry.protocol.MigrationStats;
import java.util.Locale;

/**
 * Holds a postcopy phase to the bandwidth limit as far as QEMU lets it. QEMU applies
 * {@code max-postcopy-bandwidth} to the background stream only: a page the target faults on is
 * sent at once, past the limit (a vCPU waits for it), and with postcopy-preempt on a channel of
 * its own. Measured on QEMU 10.0 behind a 16 MiB/s limit: a postcopy phase sent 25 MiB/s, 15 of
 * them requested pages. So the background stream gets what the requests leave of the limit (never
 * less than a tenth of it, or postcopy would not end while the guest faults); when the requests
 * alone need more than the limit, that excess is QEMU's to send and the log says so.
 */
final class PostcopyBandwidth {
    /** The background's least share of the limit. */
    static final double FLOOR_SHARE = 0.1;
    /** Changes smaller than this share of the current setting are not worth a command. */
    static final double STEP = 0.1;

    private final long limit;
    private final LinkRate sent = new LinkRate();
    private final LinkRate requested = new LinkRate();
    private long background;
    private boolean saidOverLimit;

    /** @param limitBytesPerS the user's limit, which QEMU's max-postcopy-bandwidth started at */
    PostcopyBandwidth(long limitBytesPerS) {
        this(limitBytesPerS, limitBytesPerS);
    }

    /**
     * @param limitBytesPerS the user's limit
     * @param nowBytesPerS   QEMU's max-postcopy-bandwidth now: lower than the limit when an agent
     *                       before this one had made room for the page requests
     */
    PostcopyBandwidth(long limitBytesPerS, long nowBytesPerS) {
        this.limit = limitBytesPerS;
        this.background = nowBytesPerS;
    }

    /** A change of QEMU's max-postcopy-bandwidth and the words for the log. */
    record Change(long bytesPerS, String reason) {}

    /** Looks at QEMU's counters at {@code nanos}; returns the setting to apply, or null to leave it. */
    Change observe(long nanos, MigrationStats ram) {
        long page = ram.pageSize() > 0 ? ram.pageSize() : 4096;
        double total = sent.add(nanos, ram.transferred(), Double.NaN, 0);
        double requests = requested.add(nanos, ram.postcopyRequests() * page, 0, 0);
        if (Double.isNaN(total)) {
            return null; // one look gives no rate yet
        }
        long next = Math.max((long) (limit * FLOOR_SHARE), (long) (limit - requests));
        String over = "";
        if (requests > limit && !saidOverLimit) {
            saidOverLimit = true;
            over = String.format(Locale.ROOT, "; the requests alone exceed the limit, and QEMU sends them regardless "
                    + "(holding them back would stall the guest)");
        }
        if (Math.abs(next - background) <= background * STEP && over.isEmpty()) {
            return null;
        }
        background = next;
        return new Change(next, String.format(Locale.ROOT, "postcopy: %s/s sent, of which the target's page requests "
                + "%s/s, against the limit of %s/s: the background stream gets %s/s%s", Sizes.bytes((long) total),
                Sizes.bytes((long) requests), Sizes.bytes(limit), Sizes.bytes(next), over));
    }
}
