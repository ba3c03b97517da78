package ferry.migration.policy;

import ferry.migration.Sizes;

/**
 * Keeps the user's bandwidth limit when multifd is on. QEMU checks its limit before it hands a
 * packet to a channel but counts the bytes only once the channel sent them, so every channel can
 * run a packet ahead of the limit (measured on QEMU 10.0: four channels sent 17.5 MiB/s under an
 * 8 MiB/s limit). This steers QEMU's own limit by what actually went over the wire.
 */
public final class BandwidthGuard extends ForwardingPolicy {
    static final double OVER = 1.10;
    static final double UNDER = 0.85;
    private final long limit;
    private long qemuLimit;

    public BandwidthGuard(ConvergencePolicy policy, long limitBytesPerS) {
        super(policy);
        this.limit = limitBytesPerS;
        this.qemuLimit = limitBytesPerS;
    }

    @Override
    public void step(Sample s, Control control) {
        double ratio = s.linkBytesPerS() / limit;
        long next = qemuLimit;
        if (ratio > OVER) {
            next = Math.max(limit / 16, (long) (qemuLimit / ratio));
        } else if (ratio < UNDER && qemuLimit < limit) {
            next = Math.min(limit, (long) (qemuLimit * Math.min(1.25, 1 / Math.max(ratio, 0.01))));
        }
        if (Math.abs(next - qemuLimit) > qemuLimit / 10) {
            control.setParameter("max-bandwidth", next, String.format(java.util.Locale.ROOT,
                    "bandwidth: multifd sent %s/s against the limit of %s/s: QEMU's max-bandwidth %s to %s/s",
                    Sizes.bytes((long) s.linkBytesPerS()), Sizes.bytes(limit), next < qemuLimit ? "lowered" : "raised",
                    Sizes.bytes(next)));
            qemuLimit = next;
        }
        super.step(s, control);
    }
}
