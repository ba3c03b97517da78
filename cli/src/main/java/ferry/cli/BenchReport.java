package ferry.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Renders a set of benchmark runs as JSON (numbers for tools), Markdown (tables for people) and SVG (the
 * remaining-bytes curves, which show convergence or its absence better than any table).
 *
 * <p>Summary statistics (medians, largest downtime) are taken over completed runs only: the total time of a run
 * that was given up on measures the give-up timeout, not the policy.
 */
final class BenchReport {
    private static final ObjectMapper JSON = ferry.agent.ApiJson.MAPPER;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT);
    private static final double MIB = 1024.0 * 1024.0;
    private static final String NONE = "—";

    /** Colour-blind-friendly (Okabe–Ito) palette; policies get colours in order of first appearance. */
    private static final String[] PALETTE = {
        "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"
    };

    private final List<BenchRun> runs;
    private final Map<String, String> setup;
    private final List<DiskBenchRun> diskRuns;

    BenchReport(List<BenchRun> runs, Map<String, String> setup) {
        this(runs, setup, List.of());
    }

    BenchReport(List<BenchRun> runs, Map<String, String> setup, List<DiskBenchRun> diskRuns) {
        this.runs = List.copyOf(runs);
        this.diskRuns = List.copyOf(diskRuns);
        // Map.copyOf would lose the order the caller chose for the setup lines.
        this.setup = Collections.unmodifiableMap(new LinkedHashMap<>(setup));
    }

    List<BenchRun> runs() {
        return runs;
    }

    Map<String, String> setup() {
        return setup;
    }

    // ---------------------------------------------------------------- JSON

    /** {@code {"setup": {...}, "runs": [...], "summary": [...]}}; samples are left out, see {@link #series()}. */
    ObjectNode json() {
        ObjectNode root = NODES.objectNode();
        ObjectNode s = root.putObject("setup");
        setup.forEach(s::put);
        ArrayNode arr = root.putArray("runs");
        for (BenchRun r : runs) {
            ObjectNode o = arr.addObject();
            o.put("scenario", r.scenario());
            o.put("policy", r.policy());
            o.put("repetition", r.repetition());
            o.put("outcome", r.outcome());
            o.put("downtime_ms", r.downtimeMs());
            o.put("max_downtime_ms", r.maxDowntimeMs());
            o.put("total_ms", r.totalMs());
            o.put("guest_pause_ms", r.guestPauseMs());
            o.put("transferred_bytes", r.transferredBytes());
            o.put("passes", r.passes());
            o.put("max_throttle_percent", r.maxThrottlePercent());
            o.put("floor_ms", r.floorMs());
            o.put("total_vs_floor", totalVsFloor(r));
            o.put("predicted_converges", r.predicted() == null ? null : r.predicted().converges());
            o.put("predicted_total_ms", r.predicted() == null ? null : r.predicted().totalMs());
            o.put("overhead_ms", r.overheadMs());
            o.put("guest_work_ratio", r.guestWork() == null ? null : round2(r.guestWork().ratio()));
            o.put("guest_dirty_ratio", r.guestWork() == null ? null : round2(r.guestWork().dirtyRatio()));
            o.put("note", r.note());
        }
        ArrayNode sum = root.putArray("summary");
        for (Group g : groups()) {
            ObjectNode o = sum.addObject();
            o.put("scenario", g.scenario);
            o.put("policy", g.policy);
            o.put("runs", g.runs.size());
            o.put("completed", g.completed());
            o.put("met_budget", g.metBudget());
            o.put("median_total_ms", g.medianTotalMs());
            o.put("max_downtime_ms_seen", g.maxDowntimeSeen());
            o.put("median_guest_pause_ms", g.medianGuestPauseMs());
        }
        ArrayNode disks = root.putArray("disk_runs");
        for (DiskBenchRun r : diskRuns) {
            ObjectNode o = disks.addObject();
            o.put("scenario", "S4");
            o.put("mirror_mode", r.mode());
            o.put("started", r.started());
            o.put("repetition", r.repetition());
            o.put("outcome", r.outcome());
            o.put("total_ms", r.totalMs());
            o.put("downtime_ms", r.downtimeMs());
            o.put("disk_bytes", r.diskBytes());
            o.put("ram_bytes", r.ramBytes());
            o.put("guest_writes_before_bytes_per_s", r.writesBefore());
            o.put("guest_writes_during_bytes_per_s", r.writesDuring());
            o.put("guest_write_share", r.writeShare());
            o.put("note", r.note());
        }
        return root;
    }

    /** The progress samples and task logs, kept apart from {@link #json()} because they dwarf everything else. */
    ObjectNode series() {
        ObjectNode root = NODES.objectNode();
        ArrayNode arr = root.putArray("runs");
        for (BenchRun r : runs) {
            ObjectNode o = arr.addObject();
            o.put("scenario", r.scenario());
            o.put("policy", r.policy());
            o.put("repetition", r.repetition());
            ArrayNode samples = o.putArray("samples");
            for (BenchRun.Sample p : r.samples()) {
                samples.addArray().add(p.atMs()).add(p.remainingBytes());
            }
            ArrayNode log = o.putArray("log");
            r.log().forEach(log::add);
        }
        return root;
    }

    private static Double round2(Double v) {
        return v == null ? null : BigDecimal.valueOf(v).setScale(2, RoundingMode.HALF_UP).doubleValue();
    }

    /** total / floor rounded to 2 decimals; null when the floor is unknown (0). */
    private static Double totalVsFloor(BenchRun r) {
        if (r.floorMs() <= 0) {
            return null;
        }
        return BigDecimal.valueOf(r.totalMs())
                .divide(BigDecimal.valueOf(r.floorMs()), 2, RoundingMode.HALF_UP)
                .doubleValue();
    }

    // ---------------------------------------------------------------- Markdown

    /** The shortest pause the linux-stress guest reports (its stressor's threshold). */
    static final int GUEST_PAUSE_RESOLUTION_MS = 50;

    String markdown() {
        StringBuilder b = new StringBuilder();
        b.append("# Ferry migration benchmark\n\n");
        if (!setup.isEmpty()) {
            b.append("## Setup\n\n");
            setup.forEach((k, v) -> b.append("- **").append(mdText(k)).append("**: ").append(mdText(v)).append('\n'));
            b.append('\n');
        }
        if (runs.isEmpty()) {
            diskTable(b); // only S4 was run
            return b.toString();
        }
        b.append("## Runs\n\n");
        row(b, "Scenario", "Policy", "Rep", "Outcome", "Downtime (ms)", "Budget (ms)", "Guest pause (ms)",
                "Total (s)", "× floor", "Sent (MiB)", "Passes", "Max throttle %", "Predicted", "Overhead (s)",
                "Guest work");
        row(b, "---", "---", "---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---",
                "---:", "---:");
        for (BenchRun r : runs) {
            Double vsFloor = totalVsFloor(r);
            Double work = r.guestWork() == null ? null : r.guestWork().ratio();
            row(b, mdCell(r.scenario()), mdCell(r.policy()), Integer.toString(r.repetition()), mdCell(r.outcome()),
                    num(r.downtimeMs()), Long.toString(r.maxDowntimeMs()),
                    guestPause(r.guestPauseMs(), r.completed()),
                    fixed(r.totalMs() / 1000.0, 1), vsFloor == null ? NONE : fixed(vsFloor, 2),
                    r.transferredBytes() == null ? NONE : fixed(r.transferredBytes() / MIB, 1),
                    num(r.passes()), r.maxThrottlePercent() == null ? NONE : r.maxThrottlePercent().toString(),
                    predicted(r.predicted()), r.overheadMs() == null ? NONE : fixed(r.overheadMs() / 1000.0, 1),
                    work == null ? NONE : fixed(work, 2));
        }
        // Notes explain failures; a column for them would make every row unreadably wide.
        List<BenchRun> noted = runs.stream().filter(r -> r.note() != null && !r.note().isBlank()).toList();
        if (!noted.isEmpty()) {
            b.append("\nNotes:\n\n");
            for (BenchRun r : noted) {
                b.append("- ").append(mdText(r.scenario())).append(" / ").append(mdText(r.policy()))
                        .append(" #").append(r.repetition()).append(": ").append(mdText(r.note())).append('\n');
            }
        }
        diskTable(b);
        b.append("\n## Summary\n\n");
        row(b, "Scenario", "Policy", "Runs", "Completed", "Met budget", "Median total (s)", "Max downtime (ms)",
                "Median guest pause (ms)");
        row(b, "---", "---", "---:", "---:", "---:", "---:", "---:", "---:");
        for (Group g : groups()) {
            Long median = g.medianTotalMs();
            row(b, mdCell(g.scenario), mdCell(g.policy), Integer.toString(g.runs.size()),
                    Integer.toString(g.completed()), Integer.toString(g.metBudget()),
                    median == null ? NONE : fixed(median / 1000.0, 1), num(g.maxDowntimeSeen()),
                    guestPause(g.medianGuestPauseMs(), g.completed() > 0));
        }
        return b.toString();
    }

    /** "converges, 8.1 s" or "not, 60.0 s": the planner's outcome and the time it expected. */
    private static String predicted(BenchRun.Prediction p) {
        return p == null ? NONE : (p.converges() ? "converges, " : "not, ") + fixed(p.totalMs() / 1000.0, 1) + " s";
    }

    /**
     * The guest notices pauses above {@link #GUEST_PAUSE_RESOLUTION_MS} only: a completed run
     * without one paused it for less than that, which is not the same as unknown.
     */
    private static String guestPause(Long ms, boolean completed) {
        return ms != null ? ms.toString() : completed ? "<" + GUEST_PAUSE_RESOLUTION_MS : NONE;
    }

    /** S4: the guest writes to its local disk during the migration; its writes before and during, side by side. */
    private void diskTable(StringBuilder b) {
        if (diskRuns.isEmpty()) {
            return;
        }
        b.append("\n## S4: local disk, the guest writing throughout\n\n");
        row(b, "Mirror mode", "Started", "Rep", "Outcome", "Total (s)", "Downtime (ms)", "Disk (MiB)", "RAM (MiB)",
                "Guest writes before (MiB/s)", "During (MiB/s)", "Share");
        row(b, "---", "---", "---:", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:");
        for (DiskBenchRun r : diskRuns) {
            row(b, mdCell(r.mode()), mdCell(r.started() == null ? NONE : r.started()),
                    Integer.toString(r.repetition()), mdCell(r.outcome()), fixed(r.totalMs() / 1000.0, 1),
                    num(r.downtimeMs()), r.diskBytes() == null ? NONE : fixed(r.diskBytes() / MIB, 1),
                    r.ramBytes() == null ? NONE : fixed(r.ramBytes() / MIB, 1),
                    r.writesBefore() == null ? NONE : fixed(r.writesBefore() / MIB, 2),
                    r.writesDuring() == null ? NONE : fixed(r.writesDuring() / MIB, 2),
                    r.writeShare() == null ? NONE : fixed(r.writeShare(), 2));
        }
        diskRuns.stream().filter(r -> r.note() != null && !r.note().isBlank()).forEach(r -> b.append("\n- S4 / ")
                .append(mdText(r.mode())).append(" #").append(r.repetition()).append(": ").append(mdText(r.note())));
        b.append('\n');
    }

    private static void row(StringBuilder b, String... cells) {
        b.append('|');
        for (String c : cells) {
            b.append(' ').append(c).append(" |");
        }
        b.append('\n');
    }

    /** A table cell: a bare '|' would split the cell and a newline would end the table. */
    private static String mdCell(String s) {
        return s == null ? NONE : mdText(s).replace("|", "\\|");
    }

    private static String mdText(String s) {
        return s == null ? NONE : s.replaceAll("\\s*\\R\\s*", " ");
    }

    private static String num(Number n) {
        return n == null ? NONE : n.toString();
    }

    private static String fixed(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    // ---------------------------------------------------------------- SVG

    private static final int WIDTH = 720;
    private static final int PANEL_HEIGHT = 240;
    private static final int LEFT = 70;
    private static final int RIGHT = 20;
    private static final int PANEL_TOP = 30;
    private static final int PANEL_BOTTOM = 44;

    /** Remaining MiB over time, one panel per scenario, one line per run, coloured by policy. */
    String svg() {
        Map<String, String> colours = new LinkedHashMap<>();
        for (BenchRun r : runs) {
            colours.computeIfAbsent(r.policy(), p -> PALETTE[colours.size() % PALETTE.length]);
        }
        Map<String, List<BenchRun>> byScenario = new LinkedHashMap<>();
        for (BenchRun r : runs) {
            byScenario.computeIfAbsent(r.scenario(), k -> new ArrayList<>()).add(r);
        }

        StringBuilder body = new StringBuilder();
        // Header: title, then the legend, wrapped to the width.
        body.append(text(LEFT, 22, "start", "font-size=\"15\" font-weight=\"bold\"",
                "Remaining to send during migration"));
        int x = LEFT;
        int y = 44;
        for (Map.Entry<String, String> e : colours.entrySet()) {
            int w = 22 + 7 * e.getKey().length() + 18; // rough text width; SVG cannot measure text for us
            if (x + w > WIDTH - RIGHT && x > LEFT) {
                x = LEFT;
                y += 18;
            }
            body.append(String.format(Locale.ROOT,
                    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>%n",
                    x, y - 4, x + 16, y - 4, e.getValue()));
            body.append(text(x + 22, y, "start", "class=\"legend\"", e.getKey()));
            x += w;
        }
        int top = y + 16;

        if (byScenario.isEmpty()) {
            body.append(text(WIDTH / 2, top + 30, "middle", "", "no runs"));
            top += 50;
        }
        for (Map.Entry<String, List<BenchRun>> e : byScenario.entrySet()) {
            panel(body, top, e.getKey(), e.getValue(), colours);
            top += PANEL_HEIGHT;
        }

        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                + String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                        + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">%n",
                        WIDTH, top, WIDTH, top)
                + String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, top)
                + body
                + "</svg>\n";
    }

    private static void panel(StringBuilder b, int top, String scenario, List<BenchRun> runs,
                              Map<String, String> colours) {
        int plotLeft = LEFT;
        int plotRight = WIDTH - RIGHT;
        int plotTop = top + PANEL_TOP;
        int plotBottom = top + PANEL_HEIGHT - PANEL_BOTTOM;

        long maxAt = 0;
        long maxRemaining = 0;
        boolean any = false;
        for (BenchRun r : runs) {
            for (BenchRun.Sample s : r.samples()) {
                maxAt = Math.max(maxAt, s.atMs());
                maxRemaining = Math.max(maxRemaining, s.remainingBytes());
                any = true;
            }
        }
        // A zero-width domain (no samples, a single sample, all at t=0) would divide by zero: give it a unit.
        Axis xAxis = Axis.of(maxAt / 1000.0);
        Axis yAxis = Axis.of(maxRemaining / MIB);
        Function<Double, Double> px = v -> plotLeft + (plotRight - plotLeft) * v / xAxis.max;
        Function<Double, Double> py = v -> plotBottom - (plotBottom - plotTop) * v / yAxis.max;

        b.append("<g class=\"panel\">\n");
        b.append(text(plotLeft, top + 20, "start", "font-size=\"13\" font-weight=\"bold\"", scenario));
        // Grid lines and tick labels.
        for (double t : xAxis.ticks()) {
            double xp = px.apply(t);
            b.append(String.format(Locale.ROOT,
                    "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e4e4e4\"/>%n",
                    xp, plotTop, xp, plotBottom));
            b.append(text(xp, plotBottom + 14, "middle", "", xAxis.label(t)));
        }
        for (double t : yAxis.ticks()) {
            double yp = py.apply(t);
            b.append(String.format(Locale.ROOT,
                    "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>%n",
                    plotLeft, yp, plotRight, yp));
            b.append(text(plotLeft - 6, yp + 4, "end", "", yAxis.label(t)));
        }
        // A path, not a polyline, so that "one polyline per run" holds for anyone counting them.
        b.append(String.format(Locale.ROOT, "<path class=\"axis\" d=\"M%d,%d L%d,%d L%d,%d\" fill=\"none\" "
                + "stroke=\"#444\"/>%n", plotLeft, plotTop, plotLeft, plotBottom, plotRight, plotBottom));
        b.append(text((plotLeft + plotRight) / 2.0, plotBottom + 30, "middle", "", "time (s)"));
        double midY = (plotTop + plotBottom) / 2.0;
        b.append(String.format(Locale.ROOT,
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 %d %.1f)\">"
                        + "remaining (MiB)</text>%n", 18, midY, 18, midY));
        if (!any) {
            b.append(text((plotLeft + plotRight) / 2.0, midY, "middle", "fill=\"#888\"", "no samples"));
        }

        for (BenchRun r : runs) {
            if (r.samples().isEmpty()) {
                continue;
            }
            // Plot in time order even if samples were recorded out of order.
            List<BenchRun.Sample> pts = r.samples().stream()
                    .sorted(Comparator.comparingLong(BenchRun.Sample::atMs)).toList();
            String colour = colours.get(r.policy());
            StringBuilder points = new StringBuilder();
            for (BenchRun.Sample s : pts) {
                if (!points.isEmpty()) {
                    points.append(' ');
                }
                points.append(String.format(Locale.ROOT, "%.1f,%.1f",
                        px.apply(s.atMs() / 1000.0), py.apply(s.remainingBytes() / MIB)));
            }
            String title = "<title>" + xml(r.policy() + " #" + r.repetition() + " (" + r.outcome() + ")")
                    + "</title>";
            b.append("<polyline class=\"run\" fill=\"none\" stroke=\"").append(colour)
                    .append("\" stroke-width=\"1.5\" stroke-opacity=\"0.85\" stroke-linejoin=\"round\" points=\"")
                    .append(points).append("\">").append(title).append("</polyline>\n");
            if (pts.size() == 1) {
                // A one-point polyline draws nothing; mark the point so the run is still visible.
                BenchRun.Sample s = pts.get(0);
                b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>%n",
                        px.apply(s.atMs() / 1000.0), py.apply(s.remainingBytes() / MIB), colour));
            }
        }
        b.append("</g>\n");
    }

    private static String text(double x, double y, String anchor, String attrs, String content) {
        return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>%s</text>%n",
                x, y, anchor, attrs.isEmpty() ? "" : " " + attrs, xml(content));
    }

    /** Escapes text for XML content and attribute values, and drops characters XML 1.0 cannot carry at all. */
    static String xml(String s) {
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            switch (c) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                case '\'' -> b.append("&apos;");
                default -> {
                    boolean legal = c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF)
                            || (c >= 0xE000 && c <= 0xFFFD) || c >= 0x10000;
                    if (legal) {
                        b.appendCodePoint(c);
                    }
                }
            }
        });
        return b.toString();
    }

    /** An axis from 0 to a "nice" upper bound with ticks at 1, 2 or 5 × 10^n. */
    private record Axis(double max, double step) {
        static Axis of(double dataMax) {
            if (!(dataMax > 0)) {
                dataMax = 1;
            }
            double raw = dataMax / 5;
            double mag = Math.pow(10, Math.floor(Math.log10(raw)));
            double norm = raw / mag;
            double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
            return new Axis(Math.ceil(dataMax / step - 1e-9) * step, step);
        }

        List<Double> ticks() {
            List<Double> t = new ArrayList<>();
            long n = Math.round(max / step);
            for (long i = 0; i <= n; i++) {
                t.add(i * step); // multiply rather than accumulate, so 0.1 + 0.1 + 0.1 drift cannot creep in
            }
            return t;
        }

        String label(double v) {
            int decimals = Math.max(0, (int) -Math.floor(Math.log10(step)));
            return BigDecimal.valueOf(v).setScale(decimals, RoundingMode.HALF_UP).stripTrailingZeros()
                    .toPlainString();
        }
    }

    // ---------------------------------------------------------------- files

    /**
     * Writes {@code bench-<stamp>.md/.json/.svg} and overwrites {@code latest.md/.json/.svg} in {@code dir}.
     * The JSON file is {@link #json()} with {@link #series()} added as member {@code "series"}.
     *
     * @return the six paths, stamped ones first
     */
    List<Path> write(Path dir) throws IOException {
        return write(dir, LocalDateTime.now());
    }

    List<Path> write(Path dir, LocalDateTime when) throws IOException {
        Files.createDirectories(dir);
        ObjectNode full = json();
        full.set("series", series());
        Map<String, String> contents = new LinkedHashMap<>();
        contents.put("md", markdown());
        contents.put("json", JSON.writerWithDefaultPrettyPrinter().writeValueAsString(full) + "\n");
        contents.put("svg", svg());
        String stamp = STAMP.format(when);
        List<Path> written = new ArrayList<>();
        for (String prefix : List.of("bench-" + stamp, "latest")) {
            for (Map.Entry<String, String> e : contents.entrySet()) {
                Path target = dir.resolve(prefix + "." + e.getKey());
                writeAtomically(target, e.getValue());
                written.add(target);
            }
        }
        return written;
    }

    /** A reader (or a browser reloading latest.svg) never sees a half-written file: write aside, then rename. */
    private static void writeAtomically(Path target, String content) throws IOException {
        Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName() + ".", ".tmp");
        try {
            Files.writeString(tmp, content, StandardCharsets.UTF_8);
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    // ---------------------------------------------------------------- grouping

    /** Runs of one (scenario, policy), in order of first appearance. */
    private List<Group> groups() {
        Map<List<String>, Group> groups = new LinkedHashMap<>();
        for (BenchRun r : runs) {
            groups.computeIfAbsent(List.of(r.scenario(), r.policy()), k -> new Group(r.scenario(), r.policy()))
                    .runs.add(r);
        }
        return List.copyOf(groups.values());
    }

    private static final class Group {
        final String scenario;
        final String policy;
        final List<BenchRun> runs = new ArrayList<>();

        Group(String scenario, String policy) {
            this.scenario = scenario;
            this.policy = policy;
        }

        int completed() {
            return (int) runs.stream().filter(BenchRun::completed).count();
        }

        int metBudget() {
            return (int) runs.stream().filter(BenchRun::metBudget).count();
        }

        Long medianTotalMs() {
            return median(runs.stream().filter(BenchRun::completed).map(BenchRun::totalMs).toList());
        }

        Long medianGuestPauseMs() {
            return median(runs.stream().filter(BenchRun::completed).map(BenchRun::guestPauseMs)
                    .filter(v -> v != null).toList());
        }

        Long maxDowntimeSeen() {
            return runs.stream().filter(BenchRun::completed).map(BenchRun::downtimeMs).filter(v -> v != null)
                    .max(Long::compare).orElse(null);
        }
    }

    /** Median in whole ms; with an even count, the mean of the middle two, rounded half up. Null if empty. */
    static Long median(List<Long> values) {
        if (values.isEmpty()) {
            return null;
        }
        List<Long> v = values.stream().sorted().toList();
        int n = v.size();
        if (n % 2 == 1) {
            return v.get(n / 2);
        }
        return Math.round((v.get(n / 2 - 1) + v.get(n / 2)) / 2.0);
    }
}
