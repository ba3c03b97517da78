package ferry.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.util.List;
import java.util.Locale;

/**
 * How the cost of one migration grows with the guest's RAM: the same dirty rate and bandwidth,
 * guests of several sizes, one policy. Each size is set against the smallest, so a cost that grows
 * with RAM shows as a factor beside the factor of RAM itself.
 */
record ScaleCost(String policy, List<Run> runs) {
    /**
     * One migration of a guest of {@code memoryMiB}: its outcome, wall and QEMU time, bytes sent,
     * passes, downtime, and the heap this JVM (both agents and the bench) had in use at most.
     */
    record Run(int memoryMiB, String outcome, long wallMs, Long qemuMs, Long bytes, Long passes, Long downtimeMs,
               long peakHeapBytes) {}

    /** Clears the heap pools' peaks after a collection, so the next {@link #peakHeapBytes} is one run's. */
    static void resetHeapPeak() {
        System.gc();
        heapPools().forEach(MemoryPoolMXBean::resetPeakUsage);
    }

    /**
     * The sum of the heap pools' peaks since {@link #resetHeapPeak}: an upper bound of the heap in
     * use at once (the pools peak at different moments), garbage not yet collected included.
     */
    static long peakHeapBytes() {
        return heapPools().stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    }

    private static List<MemoryPoolMXBean> heapPools() {
        return ManagementFactory.getMemoryPoolMXBeans().stream().filter(p -> p.getType() == MemoryType.HEAP).toList();
    }

    private Run base() {
        return runs.get(0);
    }

    /** {@code value} of a run over the same of the smallest guest; null when either is unknown. */
    private static Double factor(Long value, Long base) {
        return value == null || base == null || base == 0 ? null : value / (double) base;
    }

    ObjectNode json() {
        ObjectNode o = VmCommand.JSON.createObjectNode();
        o.put("policy", policy);
        o.put("heap", "sum of this JVM's heap pools' peaks during the run, after a collection before it; the JVM "
                + "hosts both agents and the bench");
        ArrayNode a = o.putArray("runs");
        for (Run r : runs) {
            ObjectNode x = a.addObject().put("memory_mib", r.memoryMiB()).put("outcome", r.outcome())
                    .put("wall_ms", r.wallMs()).put("peak_heap_bytes", r.peakHeapBytes());
            putOrNull(x, "qemu_total_ms", r.qemuMs());
            putOrNull(x, "transferred_bytes", r.bytes());
            putOrNull(x, "passes", r.passes());
            putOrNull(x, "downtime_ms", r.downtimeMs());
            x.put("memory_factor", r.memoryMiB() / (double) base().memoryMiB());
            putOrNull(x, "time_factor", round(factor(r.qemuMs(), base().qemuMs())));
            putOrNull(x, "bytes_factor", round(factor(r.bytes(), base().bytes())));
            putOrNull(x, "heap_factor", round(factor(r.peakHeapBytes(), base().peakHeapBytes())));
        }
        return o;
    }

    String markdown() {
        StringBuilder b = new StringBuilder("## How the cost grows with the guest's RAM (policy " + policy + ")\n\n"
                + "| RAM (MiB) | outcome | QEMU total (s) | wall (s) | sent (MiB) | passes | downtime (ms) | peak heap (MiB) "
                + "| × RAM | × time | × bytes | × heap |\n"
                + "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Run r : runs) {
            b.append(String.format(Locale.ROOT, "| %d | %s | %s | %.1f | %s | %s | %s | %.0f | %.0f | %s | %s | %s |%n",
                    r.memoryMiB(), r.outcome(), r.qemuMs() == null ? "?" : String.format(Locale.ROOT, "%.1f",
                            r.qemuMs() / 1000.0), r.wallMs() / 1000.0,
                    r.bytes() == null ? "?" : String.format(Locale.ROOT, "%.0f", r.bytes() / 1048576.0),
                    r.passes() == null ? "?" : r.passes(), r.downtimeMs() == null ? "?" : r.downtimeMs(),
                    r.peakHeapBytes() / 1048576.0, r.memoryMiB() / (double) base().memoryMiB(),
                    fixed(factor(r.qemuMs(), base().qemuMs())), fixed(factor(r.bytes(), base().bytes())),
                    fixed(factor(r.peakHeapBytes(), base().peakHeapBytes()))));
        }
        b.append("\n× = the run's figure over the smallest guest's. Peak heap: the sum of this JVM's heap pools' peaks "
                + "during the run (both agents and the bench live in it), after a collection before the run.\n");
        return b.toString();
    }

    /** {@code field: v}, or {@code field: null} when v is unknown (the bench's measurements share it). */
    static void putOrNull(ObjectNode o, String field, Number v) {
        if (v == null) {
            o.putNull(field);
        } else {
            o.putPOJO(field, v);
        }
    }

    private static Double round(Double v) {
        return v == null ? null : Math.round(v * 100) / 100.0;
    }

    private static String fixed(Double v) {
        return v == null ? "?" : String.format(Locale.ROOT, "%.2f", v);
    }
}
