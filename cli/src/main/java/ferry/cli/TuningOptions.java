package ferry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Option;

/** How the stream is carried ({@code ferry migrate}); each option left out keeps QEMU's or the policy's choice. */
final class TuningOptions {
    @Option(names = "--multifd", paramLabel = "N", description = "Send over N parallel channels (1-255); set on "
            + "both ends. Not with xbzrle (so not with --policy classic unless --no-xbzrle) nor --allow-postcopy.")
    Integer multifd;

    @Option(names = "--compress", paramLabel = "ALGO", description = "Compress the multifd channels: zlib or zstd "
            + "(needs --multifd; costs CPU on both nodes).")
    String compress;

    @Option(names = "--compress-level", paramLabel = "N", description = "zlib 0-9, zstd 0-20 (default: QEMU's, 1).")
    Integer compressLevel;

    @Option(names = "--zero-page-detection", paramLabel = "HOW", description = "Who finds zero pages: none, legacy "
            + "(the main migration thread) or multifd (its channels; QEMU's default). QEMU 9.0+.")
    String zeroPageDetection;

    @Option(names = "--xbzrle", negatable = true, description = "Send re-dirtied pages as deltas (--no-xbzrle turns "
            + "off what the policy would turn on). The cache is sized from the guest's measured working set.")
    Boolean xbzrle;

    @Option(names = "--xbzrle-cache", paramLabel = "MiB", description = "The xbzrle cache instead of the measured "
            + "size (rounded down to a power of two).")
    Integer xbzrleCache;

    @Option(names = "--switchover-ack", description = "The target must acknowledge before the switch-over "
            + "(turns on --return-path). QEMU 8.1+.")
    boolean switchoverAck;

    @Option(names = "--return-path", description = "Let the target report back to the source during the stream.")
    boolean returnPath;

    @Option(names = "--switchover-bandwidth", paramLabel = "MiB/s", description = "The bandwidth QEMU assumes for "
            + "the last pass when it decides whether the downtime fits (avail-switchover-bandwidth). QEMU 8.2+.")
    Integer switchoverBandwidth;

    @Option(names = "--pause-before-switchover", description = "Stop the source before the switch-over: Ferry checks "
            + "that the target still answers and that nobody cancelled, then lets QEMU continue.")
    boolean pauseBeforeSwitchover;

    @Option(names = "--throttle", paramLabel = "HOW", description = "budget with --allow-throttle: auto (dirty-limit "
            + "where the host has KVM dirty rings, else auto-converge; the default), auto-converge or dirty-limit.")
    String throttle;

    /** Adds a {@code tuning} object to an agent request when any option was given. */
    ObjectNode putInto(ObjectNode req) {
        ObjectNode t = VmCommand.JSON.createObjectNode();
        BudgetOptions.putIfSet(t, "multifd_channels", multifd);
        putIfSet(t, "compression", compress);
        BudgetOptions.putIfSet(t, "compression_level", compressLevel);
        putIfSet(t, "zero_page_detection", zeroPageDetection);
        if (xbzrle != null) {
            t.put("xbzrle", xbzrle);
        }
        BudgetOptions.putIfSet(t, "xbzrle_cache_mib", xbzrleCache);
        if (switchoverAck) {
            t.put("switchover_ack", true);
        }
        if (returnPath) {
            t.put("return_path", true);
        }
        BudgetOptions.putIfSet(t, "avail_switchover_bandwidth", switchoverBandwidth);
        if (pauseBeforeSwitchover) {
            t.put("pause_before_switchover", true);
        }
        putIfSet(t, "throttle", throttle);
        if (!t.isEmpty()) {
            req.set("tuning", t);
        }
        return req;
    }

    private static void putIfSet(ObjectNode o, String field, String v) {
        if (v != null) {
            o.put(field, v);
        }
    }
}
