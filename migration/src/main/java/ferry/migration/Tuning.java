package ferry.migration;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import ferry.migration.policy.BandwidthGuard;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * How the stream itself is carried, on top of what the policy chooses. Every field may be left
 * out (null / false): QEMU's or the policy's choice then stands. The JSON names are the agent's.
 *
 * @param multifdChannels       parallel channels (QEMU's multifd); null = one stream
 * @param compression           multifd compression: none, zlib or zstd
 * @param compressionLevel      zlib 0-9, zstd 0-20; null = QEMU's default
 * @param zeroPageDetection     none, legacy or multifd (QEMU 9.0+); null = QEMU's default
 * @param xbzrle                delta-encode re-sent pages; null = the policy decides (classic: on)
 * @param xbzrleCacheMiB        the xbzrle cache; null = sized from the guest's measured working set
 * @param switchoverAck         the target must acknowledge before the switch-over (turns on return-path)
 * @param returnPath            the target reports back to the source (errors, acks)
 * @param availSwitchoverMiBps  the bandwidth QEMU may assume for the final pass when it estimates downtime
 * @param pauseBeforeSwitchover stop at pre-switchover: Ferry checks the target and cancellation, then continues
 * @param throttle              how budget throttles: auto (dirty-limit where the host can, else
 *                              auto-converge), auto-converge or dirty-limit
 */
@JsonInclude(JsonInclude.Include.NON_DEFAULT)
public record Tuning(@JsonProperty("multifd_channels") Integer multifdChannels,
                     @JsonProperty("compression") String compression,
                     @JsonProperty("compression_level") Integer compressionLevel,
                     @JsonProperty("zero_page_detection") String zeroPageDetection,
                     @JsonProperty("xbzrle") Boolean xbzrle,
                     @JsonProperty("xbzrle_cache_mib") Integer xbzrleCacheMiB,
                     @JsonProperty("switchover_ack") boolean switchoverAck,
                     @JsonProperty("return_path") boolean returnPath,
                     @JsonProperty("avail_switchover_bandwidth") Integer availSwitchoverMiBps,
                     @JsonProperty("pause_before_switchover") boolean pauseBeforeSwitchover,
                     @JsonProperty("throttle") String throttle) {
    public static final Tuning NONE = new Tuning(null, null, null, null, null, null, false, false, null, false, null);
    public static final List<String> COMPRESSIONS = List.of("none", "zlib", "zstd");
    public static final List<String> ZERO_PAGE_DETECTIONS = List.of("none", "legacy", "multifd");
    public static final List<String> THROTTLES = List.of("auto", "auto-converge", "dirty-limit");

    public boolean multifd() {
        return multifdChannels != null;
    }

    public boolean compressed() {
        return compression != null && !compression.equals("none");
    }

    /** What is wrong with the values on their own, each naming the option; empty when all is well. */
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (multifdChannels != null && (multifdChannels < 1 || multifdChannels > 255)) {
            p.add("multifd channels must be between 1 and 255, got " + multifdChannels);
        }
        oneOf(p, "compression", compression, COMPRESSIONS);
        oneOf(p, "zero-page detection", zeroPageDetection, ZERO_PAGE_DETECTIONS);
        oneOf(p, "throttle", throttle, THROTTLES);
        if (compressed() && !multifd()) {
            p.add("compression " + compression + " needs multifd: QEMU compresses only multifd channels "
                    + "(add --multifd N)");
        }
        if (compressionLevel != null) {
            int max = "zlib".equals(compression) ? 9 : "zstd".equals(compression) ? 20 : -1;
            if (max < 0) {
                p.add("a compression level needs --compress zlib or zstd");
            } else if (compressionLevel < 0 || compressionLevel > max) {
                p.add(compression + " compression level must be between 0 and " + max + ", got " + compressionLevel);
            }
        }
        if (xbzrleCacheMiB != null) {
            if (Boolean.FALSE.equals(xbzrle)) {
                p.add("an xbzrle cache size was given with xbzrle turned off");
            } else if (xbzrleCacheMiB < 1) {
                p.add("the xbzrle cache must be at least 1 MiB, got " + xbzrleCacheMiB);
            }
        }
        if (availSwitchoverMiBps != null && availSwitchoverMiBps < 1) {
            p.add("the switch-over bandwidth must be at least 1 MiB/s, got " + availSwitchoverMiBps);
        }
        return p;
    }

    /**
     * QEMU 10 lets every multifd channel run one 512 KiB packet past its bandwidth limit in each
     * 100 ms window, up to 5 MiB/s per channel (measured: 4 channels sent 17.5 MiB/s under
     * 8 MiB/s). Ferry steers QEMU's limit by what it measures ({@link BandwidthGuard}), which
     * holds while that overshoot stays within a quarter of the limit.
     */
    static final int MULTIFD_OVERSHOOT_MIB_PER_CHANNEL = 5;

    /** Why multifd cannot keep {@code bwlimitMiBps}; null when it can (or there is no limit). */
    public String multifdOvershoot(Integer bwlimitMiBps) {
        if (!multifd() || bwlimitMiBps == null) {
            return null;
        }
        int overshoot = multifdChannels * MULTIFD_OVERSHOOT_MIB_PER_CHANNEL;
        if (overshoot * 4 <= bwlimitMiBps) {
            return null;
        }
        int channels = Math.max(1, bwlimitMiBps / (4 * MULTIFD_OVERSHOOT_MIB_PER_CHANNEL));
        return "--multifd " + multifdChannels + " cannot keep a limit of " + bwlimitMiBps + " MiB/s: QEMU lets each "
                + "channel run up to " + MULTIFD_OVERSHOOT_MIB_PER_CHANNEL + " MiB/s past it (" + overshoot
                + " MiB/s in all); use at most " + channels + (channels == 1 ? " channel" : " channels")
                + " at this limit, a limit of at least " + overshoot * 4 + " MiB/s, or no multifd";
    }

    private static void oneOf(List<String> p, String what, String value, List<String> allowed) {
        if (value != null && !allowed.contains(value)) {
            p.add("unknown " + what + " '" + value + "'; choose one of " + String.join(", ", allowed));
        }
    }

    /**
     * Combinations QEMU refuses, found before anything starts: the capabilities the policy turns
     * on are {@code policyCaps}. Each message names the options that collide and what to drop.
     */
    public List<String> conflicts(String policy, MigrationRequest.Limits limits, Set<String> policyCaps) {
        List<String> p = new ArrayList<>();
        boolean xbzrleOn = Boolean.TRUE.equals(xbzrle) || xbzrle == null && policyCaps.contains("xbzrle");
        if (multifd() && xbzrleOn) {
            p.add(xbzrle == null ? "policy " + policy + " turns xbzrle on, and QEMU cannot combine xbzrle with multifd: "
                    + "add --no-xbzrle or drop --multifd" : "QEMU cannot combine xbzrle with multifd: drop one of them");
        }
        if (multifd() && policyCaps.contains("postcopy-ram")) {
            p.add("QEMU cannot run postcopy over multifd channels: drop --allow-postcopy or --multifd");
        }
        if (throttle != null && !throttle.equals("auto") && !(policy.equals("budget") && limits.allowThrottle())) {
            p.add("--throttle " + throttle + " chooses how the budget policy throttles: it needs --policy budget "
                    + "and --allow-throttle");
        }
        return p;
    }
}
