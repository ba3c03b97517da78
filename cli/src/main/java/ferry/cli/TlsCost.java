package ferry.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Locale;

/**
 * What QEMU's TLS costs the migration stream on this host: S1's guest, paused (so its RAM crosses
 * once, as for S1's floor), sent without a bandwidth limit alternately over TLS and in plain TCP,
 * in one process against the same baseline. The figure is the ratio of the median rates.
 */
record TlsCost(List<Run> runs) {
    /** One migration: its repetition, whether it went over TLS, QEMU's bytes and time. */
    record Run(int rep, boolean tls, long bytes, long ms) {
        double mibPerS() {
            return bytes / 1048576.0 / Math.max(1, ms) * 1000;
        }
    }

    double medianMiBps(boolean tls) {
        double[] r = runs.stream().filter(x -> x.tls() == tls).mapToDouble(Run::mibPerS).sorted().toArray();
        if (r.length == 0) {
            return Double.NaN;
        }
        return r.length % 2 == 1 ? r[r.length / 2] : (r[r.length / 2 - 1] + r[r.length / 2]) / 2;
    }

    /** TLS's rate as a share of plain TCP's: 1.0 means TLS costs nothing, 0.5 halves the stream. */
    double ratio() {
        return medianMiBps(true) / medianMiBps(false);
    }

    ObjectNode json() {
        ObjectNode o = VmCommand.JSON.createObjectNode();
        o.put("scenario", "S1");
        o.put("plain_mib_per_s", round(medianMiBps(false)));
        o.put("tls_mib_per_s", round(medianMiBps(true)));
        o.put("ratio", Math.round(ratio() * 1000) / 1000.0);
        ArrayNode a = o.putArray("runs");
        runs.forEach(r -> a.addObject().put("repetition", r.rep()).put("tls", r.tls()).put("bytes", r.bytes())
                .put("ms", r.ms()).put("mib_per_s", round(r.mibPerS())));
        return o;
    }

    String markdown() {
        StringBuilder b = new StringBuilder("## What TLS costs the stream (S1, paused guest, no bandwidth limit)\n\n"
                + "| stream | median MiB/s | runs (MiB/s) |\n|---|---|---|\n");
        for (boolean tls : new boolean[] {false, true}) {
            b.append(String.format(Locale.ROOT, "| %s | %.1f | %s |%n", tls ? "TLS" : "plain TCP", medianMiBps(tls),
                    String.join(", ", runs.stream().filter(r -> r.tls() == tls)
                            .map(r -> String.format(Locale.ROOT, "%.1f", r.mibPerS())).toList())));
        }
        b.append(String.format(Locale.ROOT, "%nTLS / plain: **%.2f**%n", ratio()));
        return b.toString();
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
