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

    /**
     * The share of its writes a guest keeps under an auto-converge throttle of {@code throttle} (0..1).
     * QEMU blocks each vCPU for 10 ms·t/(1−t) in every 10 ms/(1−t). A guest that paces its work by
     * the clock and needs little CPU makes up what fell due in one 10 ms timeslice after a block and
     * loses the rest: 2t−1 of its time, nothing up to 50%. Measured on S3's stressor: QEMU's dirty
     * rate read 28.2-29.5 and 19.9 MiB/s at 70% and 80% for a 48 MiB/s guest (the model: 28.8 and
     * 19.2), and its passes did not shrink up to 60%. A guest that needs all its CPU loses t instead,
     * and the plan then expects a throttle to work later than it does. Its CPU share, read before the
     * migration, does not tell the two apart: S2's stressor runs its vCPU 7 ms of 200 and still loses
     * 60% of its slices at 80%.
     */
    public static double keptUnderThrottle(double throttle) {
        return Math.max(0, Math.min(1, THROTTLE_SLACK * (1 - throttle)));
    }

    /** One timeslice made up per block of a timeslice or more: what the guest keeps is twice its CPU time, at most all. */
    static final double THROTTLE_SLACK = 2;

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
