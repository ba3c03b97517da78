package ferry.migration;

/**
 * Re-sizes an estimated xbzrle cache once, when the second pass starts: what the first pass left
 * dirty is the working set the cache must hold. It only grows it, because QEMU empties the cache
 * on every resize; a cache that is too big costs memory on the source, not pages.
 */
final class XbzrleSizing implements ConvergencePolicy {
    private final ConvergencePolicy policy;
    private final long ramBytes;
    private final long cacheBytes;
    private boolean judged;

    XbzrleSizing(ConvergencePolicy policy, long cacheBytes, long ramBytes) {
        this.policy = policy;
        this.cacheBytes = cacheBytes;
        this.ramBytes = ramBytes;
    }

    @Override
    public String name() {
        return policy.name();
    }

    @Override
    public Setup setup() {
        return policy.setup();
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
        policy.step(s, control);
    }
}
