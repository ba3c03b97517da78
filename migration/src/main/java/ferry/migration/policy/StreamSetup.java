package ferry.migration.policy;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.Plan;
import ferry.migration.Sizes;
import ferry.migration.TargetNode;
import ferry.migration.Tuning;
import ferry.migration.qemu.QemuFeatures;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The capabilities and parameters of one migration on both ends: the policy's setup with the
 * user's tuning on top.
 *
 * @param sourceCaps   every capability Ferry manages that the source has, on or off: a choice of
 *                     an earlier attempt on the same QEMU never lingers
 * @param targetCaps   the capabilities that are on and that QEMU needs on both ends
 * @param targetParams the parameters the target needs to read the stream (multifd's)
 * @param summary      what the tuning changed, for the log; empty when nothing
 */
public record StreamSetup(Map<String, Boolean> sourceCaps, ObjectNode sourceParams, Set<String> targetCaps,
                          ObjectNode targetParams, String summary) {
    static final List<String> MANAGED = List.of("events", "xbzrle", "auto-converge", "postcopy-ram", "postcopy-preempt",
            "multifd", "switchover-ack", "return-path", "pause-before-switchover", "dirty-limit");
    static final long MIN_XBZRLE_CACHE = 4L << 20;

    /**
     * @param xbzrleCacheBytes the cache when xbzrle is on and neither the user nor the policy chose
     *                         one: see {@link #xbzrleCacheFor}
     */
    public static StreamSetup of(ConvergencePolicy.Setup policy, Tuning t, QemuFeatures source, long xbzrleCacheBytes) {
        Map<String, Boolean> caps = new LinkedHashMap<>();
        for (String c : MANAGED) {
            if (source.capabilities().contains(c)) {
                caps.put(c, false);
            }
        }
        caps.putAll(policy.capabilities());
        ObjectNode p = policy.parameters().deepCopy();
        List<String> notes = new ArrayList<>();
        if (t.xbzrle() != null) {
            caps.put("xbzrle", t.xbzrle());
        }
        if (caps.getOrDefault("xbzrle", false)) {
            if (t.xbzrleCacheMiB() != null) {
                p.put("xbzrle-cache-size", Long.highestOneBit((long) t.xbzrleCacheMiB() << 20));
                notes.add("xbzrle cache " + Sizes.bytes(p.path("xbzrle-cache-size").asLong()));
            } else if (!p.has("xbzrle-cache-size")) {
                p.put("xbzrle-cache-size", xbzrleCacheBytes);
                notes.add("xbzrle cache " + Sizes.bytes(xbzrleCacheBytes) + " (the guest's measured working set)");
            }
        }
        if (t.multifd()) {
            caps.put("multifd", true);
            p.put("multifd-channels", t.multifdChannels());
            String compression = t.compression() != null ? t.compression() : "none";
            if (source.parameters().contains("multifd-compression")) {
                p.put("multifd-compression", compression);
            }
            String level = "";
            if (t.compressionLevel() != null && t.compressed()) {
                p.put("multifd-" + compression + "-level", t.compressionLevel());
                level = " level " + t.compressionLevel();
            }
            notes.add("multifd " + t.multifdChannels() + " channels" + (t.compressed() ? ", " + compression
                    + " compression" + level : ""));
        }
        if (t.zeroPageDetection() != null) {
            p.put("zero-page-detection", t.zeroPageDetection());
            notes.add("zero pages found by " + t.zeroPageDetection());
        }
        if (t.switchoverAck()) {
            caps.put("switchover-ack", true);
            notes.add("switchover-ack");
        }
        if (t.switchoverAck() || t.returnPath()) {
            caps.put("return-path", true);
            notes.add("return-path");
        }
        if (source.parameters().contains("avail-switchover-bandwidth")) {
            // 0 lets QEMU use its own estimate again
            long avail = t.availSwitchoverMiBps() == null ? 0 : (long) t.availSwitchoverMiBps() << 20;
            p.put("avail-switchover-bandwidth", avail);
            if (avail > 0) {
                notes.add("switch-over bandwidth assumed " + Sizes.bytes(avail) + "/s");
            }
        }
        if (t.pauseBeforeSwitchover()) {
            caps.put("pause-before-switchover", true);
            notes.add("pause-before-switchover (Ferry checks the target, then continues)");
        }
        Set<String> target = new TreeSet<>();
        caps.forEach((c, on) -> {
            if (on && Policies.BOTH_ENDS.contains(c)) {
                target.add(c);
            }
        });
        ObjectNode targetParams = Policies.parameters();
        if (t.multifd()) {
            for (String name : TargetNode.INCOMING_PARAMETERS) {
                if (p.has(name)) {
                    targetParams.set(name, p.get(name));
                }
            }
        }
        return new StreamSetup(caps, p, target, targetParams, notes.isEmpty() ? "" : "stream: " + String.join(", ", notes));
    }

    /**
     * An xbzrle cache that holds what the guest dirties during the first pass: the measured
     * dirty rate times the time one pass of the non-zero RAM takes, as a power of two (QEMU's
     * rule) between 4 MiB and half the RAM. Without a measurement, the seed's tenth of RAM.
     */
    public static long xbzrleCacheFor(Plan plan, int memoryMiB) {
        if (plan == null) {
            return StreamSetup.xbzrleCache(memoryMiB);
        }
        Plan.Inputs in = plan.inputs();
        double nonZero = in.nonZeroBytes();
        double onePassS = nonZero / Math.max(1, in.ramLinkBytesPerS());
        return cacheSize((long) Math.min(nonZero, in.dirtyBytesPerS() * onePassS), in.ramBytes());
    }

    /** The smallest power of two that holds {@code bytes}, within 4 MiB and half of {@code ramBytes}. */
    static long cacheSize(long bytes, long ramBytes) {
        long max = Math.max(MIN_XBZRLE_CACHE, Long.highestOneBit(ramBytes) / 2);
        long want = Math.max(MIN_XBZRLE_CACHE, bytes);
        long pow = Long.highestOneBit(want);
        if (pow < want) {
            pow <<= 1;
        }
        return Math.min(max, pow);
    }

    /** {@code migrate-set-capabilities} arguments for {@code caps}. */
    public static ObjectNode capabilityArgs(Map<String, Boolean> caps) {
        ArrayNode list = Policies.JSON.createArrayNode();
        caps.forEach((c, on) -> list.addObject().put("capability", c).put("state", on));
        ObjectNode args = Policies.JSON.createObjectNode();
        args.set("capabilities", list);
        return args;
    }

    /** The seed's 10% of RAM, rounded down to the power of two QEMU requires (at least one page). */
    static long xbzrleCache(int memoryMiB) {
        long tenth = (long) memoryMiB * 1024 * 1024 / 10;
        return Math.max(4096, Long.highestOneBit(tenth));
    }
}
