package ferry.migration.policy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.MigrationRefused;
import ferry.migration.MigrationRequest;
import ferry.migration.MigrationResult;
import ferry.migration.Sizes;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The convergence policies by name, and what they are built from. */
public final class Policies {
    public static final List<String> NAMES = List.of("budget", "classic", "qemu-default", "kubevirt", "ovirt");
    /**
     * How often the ovirt emulation looks at the migration, in ms: VDSM's {@code migration_monitor_interval},
     * which a host's admin may change too (default 10 s).
     */
    public static final String OVIRT_INTERVAL_PROPERTY = "ferry.ovirt.monitorIntervalMs";
    public static final ObjectMapper JSON = new ObjectMapper();
    /** Capabilities QEMU wants on both ends of the stream. */
    public static final Set<String> BOTH_ENDS = Set.of("events", "postcopy-ram", "postcopy-preempt", "multifd", "return-path",
            "switchover-ack", "x-ignore-shared", "mapped-ram", "late-block-activate", "validate-uuid");

    private Policies() {}

    /**
     * What every policy needs to know about the migration it steers.
     *
     * @param downtimeMs      the downtime the user asked for (see {@link MigrationRequest}), or null
     * @param maxDurationMs   time limit of pre-copy
     * @param sourceCaps      capabilities the source QEMU has (wire names)
     * @param targetCaps      capabilities the target QEMU has
     * @param dirtyLimit      throttle with dirty-limit instead of auto-converge (the host has KVM dirty rings)
     */
    public record Context(int memoryMiB, int vcpus, long bandwidthBytesPerS, Integer downtimeMs, long maxDurationMs,
                          MigrationRequest.Limits limits, Set<String> sourceCaps, Set<String> targetCaps, boolean dirtyLimit) {
        boolean bothHave(String cap) {
            return sourceCaps.contains(cap) && targetCaps.contains(cap);
        }
    }

    /** Throws {@link MigrationRefused} for an unknown name. */
    public static ConvergencePolicy create(String name, Context c) {
        return switch (name) {
            case "budget" -> new BudgetPolicy(c);
            case "classic" -> new ClassicPolicy(c);
            case "qemu-default" -> new QemuDefaultPolicy(c);
            case "kubevirt" -> new KubevirtPolicy(c);
            case "ovirt" -> new OvirtPolicy(c, Long.getLong(OVIRT_INTERVAL_PROPERTY, OvirtPolicy.MONITOR_INTERVAL_MS));
            default -> throw new MigrationRefused(unknown(name));
        };
    }

    /**
     * The capabilities policy {@code name} turns on under {@code limits}, whatever the VM and the
     * link: what the tuning's conflicts are checked against before anything starts.
     */
    public static Set<String> turnsOn(String name, MigrationRequest.Limits limits) {
        Set<String> all = Set.copyOf(StreamSetup.MANAGED);
        Set<String> on = new java.util.TreeSet<>();
        create(name, new Context(1024, 1, 1L << 30, null, 60_000, limits, all, all, false)).setup().capabilities()
                .forEach((c, v) -> {
                    if (v) {
                        on.add(c);
                    }
                });
        return on;
    }

    public static String unknown(String name) {
        return "unknown policy '" + name + "'; choose one of " + String.join(", ", NAMES);
    }

    /** Five times the time one pass of all RAM takes at the bandwidth limit, and never less than a minute. */
    public static long defaultMaxDurationMs(int memoryMiB, long bandwidthBytesPerS) {
        long onePassMs = ((long) memoryMiB << 20) * 1000 / Math.max(1, bandwidthBytesPerS);
        return Math.max(60_000, 5 * onePassMs);
    }

    static Map<String, Boolean> capabilities(Object... pairs) {
        Map<String, Boolean> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put((String) pairs[i], (Boolean) pairs[i + 1]);
        }
        return m;
    }

    public static ObjectNode parameters() {
        return JSON.createObjectNode();
    }

    /** The shared end of every policy: past the time limit, pre-copy gave up. */
    static boolean overTime(ConvergencePolicy.Sample s, Context c, ConvergencePolicy.Control control) {
        if (s.elapsedMs() <= c.maxDurationMs()) {
            return false;
        }
        control.stop(MigrationResult.Status.NOT_CONVERGED, String.format(java.util.Locale.ROOT,
                "pre-copy did not converge within %d s: %s still to send at %.1f MiB/s while the guest dirties "
                        + "%.1f MiB/s, expected downtime %d ms against a limit of %d ms", c.maxDurationMs() / 1000,
                Sizes.bytes(s.remaining()), s.linkBytesPerS() / 1048576, s.dirtyBytesPerS() / 1048576,
                s.expectedDowntimeMs(), s.downtimeLimitMs()));
        return true;
    }
}
