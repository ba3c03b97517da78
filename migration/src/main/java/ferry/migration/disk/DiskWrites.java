package ferry.migration.disk;

import ferry.protocol.BlockStats;
import ferry.protocol.Commands;
import ferry.protocol.QueryBlockstatsArgs;
import ferry.qmp.QmpClient;
import java.util.LinkedHashMap;
import java.util.Map;

/** The guest's disk writes as QEMU counts them ({@code query-blockstats}), per drive. */
public final class DiskWrites {
    private final Map<String, Long> bytes;
    private final long atNanos;

    private DiskWrites(Map<String, Long> bytes, long atNanos) {
        this.bytes = bytes;
        this.atNanos = atNanos;
    }

    public static DiskWrites read(QmpClient qmp) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (BlockStats s : qmp.call(Commands.QUERY_BLOCKSTATS, QueryBlockstatsArgs.builder().build())) {
            if (s.device() != null) {
                out.put(s.device(), s.stats().wrBytes());
            }
        }
        return new DiskWrites(out, System.nanoTime());
    }

    /** Bytes/s written per drive since {@code earlier}. */
    public Map<String, Double> ratesSince(DiskWrites earlier) {
        double secs = Math.max(1e-3, (atNanos - earlier.atNanos) / 1e9);
        Map<String, Double> out = new LinkedHashMap<>();
        bytes.forEach((drive, b) -> out.put(drive, (b - earlier.bytes.getOrDefault(drive, b)) / secs));
        return out;
    }
}
