package ferry.migration.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.Sizes;

/** QEMU's defaults, only the bandwidth limited: what {@code virsh migrate --live} gives. */
final class QemuDefaultPolicy implements ConvergencePolicy {
    private final Policies.Context c;

    QemuDefaultPolicy(Policies.Context c) {
        this.c = c;
    }

    @Override
    public String name() {
        return "qemu-default";
    }

    @Override
    public Setup setup() {
        ObjectNode p = Policies.parameters().put("max-bandwidth", c.bandwidthBytesPerS());
        String downtime = "QEMU's downtime limit";
        if (c.downtimeMs() != null) {
            p.put("downtime-limit", c.downtimeMs());
            downtime = "downtime-limit " + c.downtimeMs() + " ms";
        }
        return new Setup(Policies.capabilities("events", true), p, "policy qemu-default: " + downtime
                + ", max-bandwidth " + Sizes.bytes(c.bandwidthBytesPerS()) + "/s, nothing else changed, time limit "
                + c.maxDurationMs() / 1000 + " s");
    }

    @Override
    public void step(Sample s, Control control) {
        Policies.overTime(s, c, control);
    }
}
