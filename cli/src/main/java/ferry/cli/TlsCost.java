package ferry.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/**
 * What QEMU's TLS costs the migration stream on this host: an idle guest (S1's dirty rate, its
 * RAM mostly written), paused (so its RAM crosses once, as for a floor), sent without a bandwidth
 * limit alternately over TLS and in plain TCP,
 * in one process against the same baseline. Each repetition is one pair, run back to back; the
 * figure is the median of the pairs' ratios, which a host whose speed drifts (other load) skews
 * less than a ratio of overall medians.
 */
record TlsCost(List<Run> runs) {
    /** One migration: its repetition, whether it went over TLS, QEMU's bytes and time. */
    record Run(int rep, boolean tls, long bytes, long ms) {
        double mibPerS() {
            return bytes / 1048576.0 / Math.max(1, ms) * 1000;
        }
    }

    double medianMiBps(boolean tls) {
        return median(runs.stream().filter(x -> x.tls() == tls).mapToDouble(Run::mibPerS).sorted().toArray());
    }

    /** TLS's rate as a share of plain TCP's (median over the pairs): 1.0 means TLS costs nothing, 0.5 halves it. */
    double ratio() {
        return median(runs.stream().mapToInt(Run::rep).distinct().mapToObj(rep -> {
            Run plain = runs.stream().filter(r -> r.rep() == rep && !r.tls()).findFirst().orElseThrow();
            Run tls = runs.stream().filter(r -> r.rep() == rep && r.tls()).findFirst().orElseThrow();
            return tls.mibPerS() / plain.mibPerS();
        }).mapToDouble(Double::doubleValue).sorted().toArray());
    }

    private static double median(double[] sorted) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    ObjectNode json() {
        ObjectNode o = VmCommand.JSON.createObjectNode();
        o.put("guest", "linux-stress, 384 of 512 MiB written, idle (1 MiB/s), paused");
        o.put("plain_mib_per_s", round(medianMiBps(false)));
        o.put("tls_mib_per_s", round(medianMiBps(true)));
        o.put("ratio", Math.round(ratio() * 1000) / 1000.0);
        ArrayNode a = o.putArray("runs");
        runs.forEach(r -> a.addObject().put("repetition", r.rep()).put("tls", r.tls()).put("bytes", r.bytes())
                .put("ms", r.ms()).put("mib_per_s", round(r.mibPerS())));
        return o;
    }

    String markdown() {
        StringBuilder b = new StringBuilder("## What TLS costs the stream (idle guest, paused, no bandwidth limit)\n\n"
                + "| stream | median MiB/s | runs (MiB/s) |\n|---|---|---|\n");
        for (boolean tls : new boolean[] {false, true}) {
            b.append(String.format(Locale.ROOT, "| %s | %.1f | %s |%n", tls ? "TLS" : "plain TCP", medianMiBps(tls),
                    String.join(", ", runs.stream().filter(r -> r.tls() == tls)
                            .map(r -> String.format(Locale.ROOT, "%.1f", r.mibPerS())).toList())));
        }
        b.append(String.format(Locale.ROOT, "%nTLS / plain (median of the %d back-to-back pairs): **%.2f**%n",
                runs.size() / 2, ratio()));
        return b.toString();
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
