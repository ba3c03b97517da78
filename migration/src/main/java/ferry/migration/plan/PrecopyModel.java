package ferry.migration.plan;

/**
 * The pre-copy model: pass 0 sends all non-zero RAM; each later pass resends what the guest
 * dirtied while the previous pass was on the wire, at most its working set. The migration
 * converges at the first pass small enough to send within the allowed downtime.
 *
 * @param ramBytes        guest RAM
 * @param zeroShare       share of RAM that is zero pages (sent as a flag, no data), 0..1
 * @param workingSetBytes most RAM the guest dirties between two passes (&lt;= ramBytes)
 * @param dirtyBytesPerS  guest dirty rate
 * @param linkBytesPerS   usable migration bandwidth
 */
public record PrecopyModel(long ramBytes, double zeroShare, long workingSetBytes, double dirtyBytesPerS,
                           double linkBytesPerS) {
    /** A model's answer; {@code converges} false means no pass ever fits in the downtime. */
    public record Prediction(boolean converges, int passes, long bytes, double seconds, double downtimeMs) {}

    public PrecopyModel {
        if (ramBytes <= 0 || linkBytesPerS <= 0 || dirtyBytesPerS < 0 || zeroShare < 0 || zeroShare > 1
                || workingSetBytes < 0 || workingSetBytes > ramBytes) {
            throw new IllegalArgumentException("invalid model inputs: " + ramBytes + " B RAM, zero share " + zeroShare
                    + ", working set " + workingSetBytes + " B, dirty " + dirtyBytesPerS + " B/s, link "
                    + linkBytesPerS + " B/s");
        }
    }

    /**
     * Predicts pre-copy with the given downtime limit, stopping after {@code maxPasses}. The final
     * (stop-and-copy) pass is counted in passes, bytes and time.
     */
    public Prediction predict(double downtimeLimitMs, int maxPasses) {
        double fits = linkBytesPerS * downtimeLimitMs / 1000.0;
        double pass = ramBytes * (1 - zeroShare);
        double bytes = 0;
        for (int n = 1; n <= maxPasses; n++) {
            if (pass <= fits) {
                bytes += pass;
                return new Prediction(true, n, (long) bytes, bytes / linkBytesPerS, pass / linkBytesPerS * 1000);
            }
            bytes += pass;
            double next = Math.min(workingSetBytes, dirtyBytesPerS * pass / linkBytesPerS);
            if (next >= pass && n > 1) {
                // the passes stopped shrinking: it never fits
                return new Prediction(false, n, (long) bytes, bytes / linkBytesPerS, next / linkBytesPerS * 1000);
            }
            pass = next;
        }
        return new Prediction(false, maxPasses, (long) bytes, bytes / linkBytesPerS, pass / linkBytesPerS * 1000);
    }

    /** The smallest downtime (ms) at which pre-copy would converge within {@code maxPasses}; infinite if none. */
    public double downtimeNeededMs(int maxPasses) {
        double pass = ramBytes * (1 - zeroShare);
        double smallest = pass;
        for (int n = 1; n < maxPasses; n++) {
            pass = Math.min(workingSetBytes, dirtyBytesPerS * pass / linkBytesPerS);
            smallest = Math.min(smallest, pass);
        }
        return smallest / linkBytesPerS * 1000;
    }
}
