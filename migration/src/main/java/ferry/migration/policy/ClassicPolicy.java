package ferry.migration.policy;

import ferry.migration.Migration;
import ferry.migration.Plan;
import ferry.migration.Sizes;

/**
 * The seed's algorithm: double the downtime limit after more than five polls in which the
 * remaining bytes grew or were zero; with modern Proxmox's additions, xbzrle and auto-converge
 * on and the downtime capped.
 */
final class ClassicPolicy implements ConvergencePolicy {
    static final long CAP_MS = Plan.CLASSIC_CAP_MS;
    private final Policies.Context c;
    private long downtimeMs;
    private long lastRemaining = -1;
    private int stalled;

    ClassicPolicy(Policies.Context c) {
        this.c = c;
        this.downtimeMs = c.downtimeMs() != null ? c.downtimeMs() : Migration.DEFAULT_DOWNTIME_MS;
    }

    @Override
    public String name() {
        return "classic";
    }

    @Override
    public Setup setup() {
        long cache = StreamSetup.xbzrleCache(c.memoryMiB());
        return new Setup(Policies.capabilities("events", true, "xbzrle", true, "auto-converge", true),
                Policies.parameters().put("downtime-limit", downtimeMs).put("max-bandwidth", c.bandwidthBytesPerS())
                        .put("xbzrle-cache-size", cache),
                "policy classic: downtime-limit " + downtimeMs + " ms (doubled when stalled, up to " + CAP_MS
                        + " ms), max-bandwidth " + Sizes.bytes(c.bandwidthBytesPerS()) + "/s, xbzrle cache "
                        + Sizes.bytes(cache) + ", auto-converge on");
    }

    @Override
    public void step(Sample s, Control control) {
        if (Policies.overTime(s, c, control)) {
            return;
        }
        if (lastRemaining >= 0 && s.remaining() > lastRemaining || s.remaining() == 0) {
            stalled++;
        }
        lastRemaining = s.remaining();
        if (stalled > 5 && downtimeMs < CAP_MS) {
            stalled = 0;
            downtimeMs = Math.min(CAP_MS, downtimeMs * 2);
            control.setDowntime(downtimeMs, "auto-increased downtime to continue migration: " + downtimeMs + " ms");
        }
    }
}
