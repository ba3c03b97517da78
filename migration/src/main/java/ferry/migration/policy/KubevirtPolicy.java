package ferry.migration.policy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.MigrationResult;
import ferry.migration.Plan;
import ferry.migration.Sizes;
import java.util.Locale;

/**
 * An emulation of KubeVirt's default live migration, as its cluster-wide MigrationConfiguration
 * ships it: pre-copy only (auto-converge and postcopy off), QEMU's own downtime limit (KubeVirt
 * never sets one, so libvirt leaves QEMU's 300 ms), and two watchdogs that abort the migration,
 * leaving the VM on the source:
 * <ul>
 *   <li>completion: 150 s per GiB of the data to move, counted from the start;</li>
 *   <li>progress: 150 s in which the remaining data never fell from one look to the next.</li>
 * </ul>
 * Sources: the defaults are the constants {@code MigrationAllowAutoConverge = false},
 * {@code MigrationAllowPostCopy = false}, {@code MigrationProgressTimeout = 150} and
 * {@code MigrationCompletionTimeoutPerGiB = 150} in kubevirt/kubevirt
 * {@code pkg/virt-config/virt-config.go}; the watchdogs are virt-launcher's migration monitor
 * ({@code migrationMonitor} in {@code pkg/virt-launcher/virtwrap/live-migration-source.go}, once
 * {@code liveMigrationMonitor} in {@code manager.go}): it reads libvirt's job info every 400 ms and
 * counts as progress a remaining-data figure below the one it read before (early versions kept
 * the lowest figure instead); its completion limit is the per-GiB value times
 * {@code getVMIMigrationDataSize}: the guest's memory (plus its local disks in a block migration)
 * in decimal GB, rounded up by Kubernetes' {@code Quantity.ScaledValue(Giga)}. Here the local disks
 * Ferry mirrors count as KubeVirt's block-migrated ones, their sizes taken from the plan (without
 * a plan, only the memory counts). The stall detection newer
 * releases add is behind a feature gate, off by default, and not emulated.
 *
 * <p>A time limit the user gave explicitly ({@code --max-duration}) still ends the migration as
 * not-converged; without one, the emulation's own watchdogs are the only limits, as in KubeVirt.
 */
final class KubevirtPolicy implements ConvergencePolicy {
    static final long COMPLETION_TIMEOUT_PER_GIB_S = 150;
    static final long PROGRESS_TIMEOUT_S = 150;

    private final Policies.Context c;
    private long completionMs;
    private final long progressMs;
    private long previous = -1;
    private boolean announced;
    private long lastProgressMs;

    KubevirtPolicy(Policies.Context c) {
        this.c = c;
        this.completionMs = completionTimeoutMs((long) c.memoryMiB() << 20);
        this.progressMs = PROGRESS_TIMEOUT_S * 1000;
    }

    /** The local disks move in the same migration: KubeVirt counts them in the data to move. */
    @Override
    public void planned(Plan plan) {
        long disks = diskBytes(plan);
        if (disks > 0) {
            completionMs = completionTimeoutMs(((long) c.memoryMiB() << 20) + disks);
        }
    }

    static long diskBytes(Plan plan) {
        return plan.disks().stream().mapToLong(Plan.DiskPrediction::bytes).sum();
    }

    /** 150 s per started decimal GB of the data, as virt-launcher computes it. */
    static long completionTimeoutMs(long dataBytes) {
        long gb = (dataBytes + 999_999_999L) / 1_000_000_000L;
        return COMPLETION_TIMEOUT_PER_GIB_S * gb * 1000;
    }

    @Override
    public String name() {
        return "kubevirt";
    }

    @Override
    public Setup setup() {
        long downtime = c.downtimeMs() != null ? c.downtimeMs() : Plan.QEMU_DEFAULT_DOWNTIME_MS;
        // set explicitly, so nothing an earlier migration of this QEMU set can linger
        ObjectNode p = Policies.parameters().put("max-bandwidth", c.bandwidthBytesPerS()).put("downtime-limit", downtime);
        return new Setup(Policies.capabilities("events", true), p,
                String.format(Locale.ROOT, "policy kubevirt (an emulation of KubeVirt's default MigrationConfiguration): "
                        + "downtime-limit %d ms (%s), max-bandwidth %s/s, no auto-converge, no postcopy; abort after "
                        + "%d s in all (%d s per started GB of its %d MiB of RAM; local disks add theirs) or %d s "
                        + "without progress%s", downtime,
                        c.downtimeMs() != null ? "asked for" : "QEMU's default", Sizes.bytes(c.bandwidthBytesPerS()),
                        completionMs / 1000, COMPLETION_TIMEOUT_PER_GIB_S, c.memoryMiB(), progressMs / 1000,
                        explicitLimit() ? ", or not-converged at the --max-duration of " + c.maxDurationMs() / 1000 + " s"
                                : ""));
    }

    private boolean explicitLimit() {
        return c.limits().maxDurationS() != null;
    }

    @Override
    public void step(Sample s, Control control) {
        if (explicitLimit() && Policies.overTime(s, c, control)) {
            return;
        }
        if (!announced && completionMs != completionTimeoutMs((long) c.memoryMiB() << 20)) {
            control.log("kubevirt: with the local disks, the completion timeout is %d s", completionMs / 1000);
        }
        announced = true;
        if (previous < 0 || s.remaining() < previous) {
            lastProgressMs = s.elapsedMs();
        }
        previous = s.remaining();
        long stuckMs = s.elapsedMs() - lastProgressMs;
        if (stuckMs > progressMs) {
            control.stop(MigrationResult.Status.ABORTED, String.format(Locale.ROOT, "kubevirt: no progress for %d s "
                            + "(the remaining data has not fallen between two looks since %.1f s; %s still to send at "
                            + "%.1f MiB/s while the guest dirties %.1f MiB/s): aborted, as KubeVirt's progressTimeout does",
                    stuckMs / 1000, lastProgressMs / 1000.0, Sizes.bytes(s.remaining()), s.linkBytesPerS() / 1048576,
                    s.dirtyBytesPerS() / 1048576));
            return;
        }
        if (s.elapsedMs() > completionMs) {
            control.stop(MigrationResult.Status.ABORTED, String.format(Locale.ROOT, "kubevirt: not completed after "
                            + "%d s (%d s per started GB of guest memory): aborted, as KubeVirt's completionTimeoutPerGiB "
                            + "does; %s still to send at %.1f MiB/s while the guest dirties %.1f MiB/s", completionMs / 1000,
                    COMPLETION_TIMEOUT_PER_GIB_S, Sizes.bytes(s.remaining()), s.linkBytesPerS() / 1048576,
                    s.dirtyBytesPerS() / 1048576));
        }
    }
}
