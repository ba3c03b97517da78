package ferry.migration.policy;

import ferry.migration.Sizes;

/**
 * Re-sizes an estimated xbzrle cache once, when the second pass starts: what the first pass left
 * dirty is the working set the cache must hold. It only grows it, because QEMU empties the cache
 * on every resize; a cache that is too big costs memory on the source, not pages.
 */
public final class XbzrleSizing extends ForwardingPolicy {
    private final long ramBytes;
    private final long cacheBytes;
    private boolean judged;

    public XbzrleSizing(ConvergencePolicy policy, long cacheBytes, long ramBytes) {
        super(policy);
        this.cacheBytes = cacheBytes;
        this.ramBytes = ramBytes;
    }

    @Override
    public void step(Sample s, Control control) {
        if (!judged && s.pass() >= 2) {
            judged = true;
            // the first sample of pass 2: at least this much was dirtied during pass 1
            long want = StreamSetup.cacheSize(s.remaining(), ramBytes);
            if (want >= 2 * cacheBytes) {
                control.setParameter("xbzrle-cache-size", want, "xbzrle: pass 1 left " + Sizes.bytes(s.remaining())
                        + " dirty, more than the " + Sizes.bytes(cacheBytes) + " cache holds: cache resized to "
                        + Sizes.bytes(want));
            } else {
                control.log("xbzrle: pass 1 left %s dirty; the %s cache holds it", Sizes.bytes(s.remaining()),
                        Sizes.bytes(cacheBytes));
            }
        }
        super.step(s, control);
    }
}
