package ferry.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * {@code ferry bench --libvirt}: the same guest on the same host migrated by the real libvirt
 * ({@code virsh migrate}) and by the Ferry CLI ({@code ferry migrate}), in turns, with the same
 * bandwidth and the same kind of stream. Each run is timed on the clock around the command a person
 * would type, and QEMU's own figures are read from each side's report.
 */
record LibvirtComparison(String versions, List<Run> runs) {
    static final String VIRSH = "virsh";
    static final String FERRY = "ferry";

    /**
     * One migration: {@code wallMs} from starting the command to its exit; {@code qemuMs}, the
     * downtime and the bytes as the tool reported them (libvirt's completed job, Ferry's JSON);
     * {@code guestPauseMs} the longest pause the guest's own clock saw (null below 50 ms);
     * {@code taskMs} Ferry's task from its start in the agent to its end (null for virsh), so that
     * the wall time less it is what the CLI's process costs.
     */
    record Run(String scenario, String tool, int rep, String outcome, long wallMs, Long qemuMs, Long downtimeMs,
               Long guestPauseMs, Long bytes, Long taskMs, String note) {
        Long overheadMs() {
            return qemuMs == null ? null : wallMs - qemuMs;
        }
    }

    /** The median of a figure over the completed runs of one scenario and tool; null when none has it. */
    Long median(String scenario, String tool, Function<Run, Long> figure) {
        List<Long> v = new ArrayList<>();
        for (Run r : runs) {
            if (r.scenario().equals(scenario) && r.tool().equals(tool) && r.outcome().equals("completed")
                    && figure.apply(r) != null) {
                v.add(figure.apply(r));
            }
        }
        if (v.isEmpty()) {
            return null;
        }
        v.sort(Comparator.naturalOrder());
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    List<String> scenarios() {
        return runs.stream().map(Run::scenario).distinct().toList();
    }

    ObjectNode json() {
        ObjectNode o = VmCommand.JSON.createObjectNode();
        o.put("versions", versions);
        ArrayNode a = o.putArray("runs");
        for (Run r : runs) {
            ObjectNode x = a.addObject().put("scenario", r.scenario()).put("tool", r.tool()).put("rep", r.rep())
                    .put("outcome", r.outcome()).put("wall_ms", r.wallMs());
            ScaleCost.putOrNull(x, "qemu_total_ms", r.qemuMs());
            ScaleCost.putOrNull(x, "overhead_ms", r.overheadMs());
            ScaleCost.putOrNull(x, "downtime_ms", r.downtimeMs());
            ScaleCost.putOrNull(x, "guest_pause_ms", r.guestPauseMs());
            ScaleCost.putOrNull(x, "transferred_bytes", r.bytes());
            ScaleCost.putOrNull(x, "task_ms", r.taskMs());
            if (r.note() != null) {
                x.put("note", r.note());
            }
        }
        ArrayNode s = o.putArray("medians");
        for (String sc : scenarios()) {
            for (String tool : List.of(VIRSH, FERRY)) {
                ObjectNode x = s.addObject().put("scenario", sc).put("tool", tool);
                ScaleCost.putOrNull(x, "wall_ms", median(sc, tool, Run::wallMs));
                ScaleCost.putOrNull(x, "qemu_total_ms", median(sc, tool, Run::qemuMs));
                ScaleCost.putOrNull(x, "overhead_ms", median(sc, tool, Run::overheadMs));
                ScaleCost.putOrNull(x, "downtime_ms", median(sc, tool, Run::downtimeMs));
                ScaleCost.putOrNull(x, "transferred_bytes", median(sc, tool, Run::bytes));
            }
        }
        return o;
    }

    String markdown() {
        StringBuilder b = new StringBuilder("## Ferry beside libvirt (" + versions + ")\n\n"
                + "| scenario | tool | # | outcome | wall (ms) | QEMU total (ms) | overhead (ms) | downtime (ms) "
                + "| guest pause (ms) | sent (MiB) |\n"
                + "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (Run r : runs) {
            b.append(String.format(Locale.ROOT, "| %s | %s | %d | %s | %d | %s | %s | %s | %s | %s |%n", r.scenario(),
                    r.tool(), r.rep(), r.outcome() + (r.note() == null ? "" : " (" + r.note() + ")"), r.wallMs(),
                    text(r.qemuMs()), text(r.overheadMs()), text(r.downtimeMs()),
                    r.guestPauseMs() == null ? "<50" : r.guestPauseMs().toString(), mib(r.bytes())));
        }
        b.append("\n| scenario | median | virsh | ferry | ferry ÷ virsh |\n| --- | --- | ---: | ---: | ---: |\n");
        for (String sc : scenarios()) {
            for (var f : List.<Figure>of(new Figure("wall (ms)", Run::wallMs), new Figure("QEMU total (ms)", Run::qemuMs),
                    new Figure("overhead (ms)", Run::overheadMs), new Figure("downtime (ms)", Run::downtimeMs))) {
                Long v = median(sc, VIRSH, f.get());
                Long fe = median(sc, FERRY, f.get());
                b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", sc, f.name(), text(v), text(fe),
                        v == null || fe == null || v == 0 ? "?" : String.format(Locale.ROOT, "%.2f", fe / (double) v)));
            }
        }
        b.append("\nWall: from starting `virsh migrate` or `ferry migrate` (the launcher, its JVM included) to its "
                + "exit. QEMU total and downtime: as each tool reports them (libvirt's completed job on the source, "
                + "Ferry's --json). Overhead: wall less QEMU total. Guest pause: the longest pause the guest's own "
                + "clock saw.\n");
        return b.toString();
    }

    private record Figure(String name, Function<Run, Long> get) {}

    private static String text(Long v) {
        return v == null ? "?" : v.toString();
    }

    private static String mib(Long bytes) {
        return bytes == null ? "?" : String.format(Locale.ROOT, "%.0f", bytes / 1048576.0);
    }
}
