package ferry.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

class BenchReportTest {
    private static final long MIB = 1024 * 1024;

    /** A linear drain from {@code startMiB} over {@code n} samples one second apart. */
    private static List<BenchRun.Sample> drain(long startMiB, int n) {
        return IntStream.range(0, n)
                .mapToObj(i -> new BenchRun.Sample(i * 1000L, startMiB * MIB * (n - 1 - i) / Math.max(1, n - 1)))
                .toList();
    }

    private static BenchRun run(String scenario, String policy, int rep, String outcome, Long downtime,
                                long totalMs, Long guestPause, List<BenchRun.Sample> samples) {
        return new BenchRun(scenario, policy, rep, outcome, downtime, 300, totalMs, guestPause, 600 * MIB,
                3L, 20, 16_000, null, samples, new BenchRun.Prediction(outcome.equals("completed"), totalMs - 500),
                1200L, new BenchRun.Work(0.876, 0.994), List.of("plan: converges", "completed"));
    }

    /** Two scenarios, three policies; the idle guest gets one run per policy, the stressed one more. */
    private static List<BenchRun> runs() {
        List<BenchRun> r = new ArrayList<>();
        r.add(run("idle", "qemu-default", 1, "completed", 120L, 17_000, 130L, drain(512, 6)));
        r.add(run("idle", "classic", 1, "completed", 90L, 16_500, 100L, drain(512, 5)));
        r.add(run("idle", "budget", 1, "completed", 80L, 16_400, 95L, List.of(new BenchRun.Sample(0, 512 * MIB))));
        r.add(run("stress", "qemu-default", 1, "not-converged", null, 60_000, null, drain(700, 10)));
        r.add(run("stress", "kubevirt", 1, "aborted", null, 150_000, null, drain(700, 10)));
        r.add(run("stress", "ovirt", 1, "completed", 480L, 35_000, 500L, drain(700, 10)));
        r.add(run("stress", "classic", 1, "completed", 450L, 40_000, 470L, drain(900, 8)));
        r.add(run("stress", "classic", 2, "completed", 250L, 30_000, 260L, drain(800, 7)));
        r.add(run("stress", "budget", 1, "completed", 280L, 24_000, 290L, drain(600, 7)));
        r.add(run("stress", "budget", 2, "completed", 310L, 26_000, 320L, drain(620, 7)));
        // The "<&>" note checks escaping; no samples checks that a run without any is skipped, not drawn.
        r.add(new BenchRun("stress", "budget", 3, "completed", 290L, 300, 25_000, null, null, null, null, 0,
                "guest agent <&> silent", List.of()));
        return r;
    }

    private static Map<String, String> setup() {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("QEMU", "10.0.2");
        s.put("guest", "linux-stress 512 MiB");
        s.put("max-bandwidth", "32 MiB/s");
        return s;
    }

    private static JsonNode summary(ObjectNode json, String scenario, String policy) {
        for (JsonNode s : json.get("summary")) {
            if (s.get("scenario").asText().equals(scenario) && s.get("policy").asText().equals(policy)) {
                return s;
            }
        }
        throw new AssertionError("no summary for " + scenario + "/" + policy);
    }

    @Test
    void jsonHasRunsSetupAndSummary() {
        ObjectNode j = new BenchReport(runs(), setup()).json();

        assertThat(j.get("setup").fieldNames()).toIterable().containsExactly("QEMU", "guest", "max-bandwidth");
        assertThat(j.at("/setup/QEMU").asText()).isEqualTo("10.0.2");
        assertThat(j.get("runs")).hasSize(11);
        assertThat(j.has("series")).isFalse();

        JsonNode first = j.at("/runs/0");
        assertThat(first.get("scenario").asText()).isEqualTo("idle");
        assertThat(first.get("policy").asText()).isEqualTo("qemu-default");
        assertThat(first.get("repetition").asInt()).isEqualTo(1);
        assertThat(first.get("outcome").asText()).isEqualTo("completed");
        assertThat(first.get("downtime_ms").asLong()).isEqualTo(120);
        assertThat(first.get("max_downtime_ms").asLong()).isEqualTo(300);
        assertThat(first.get("total_ms").asLong()).isEqualTo(17_000);
        assertThat(first.get("guest_pause_ms").asLong()).isEqualTo(130);
        assertThat(first.get("transferred_bytes").asLong()).isEqualTo(600 * MIB);
        assertThat(first.get("passes").asLong()).isEqualTo(3);
        assertThat(first.get("max_throttle_percent").asInt()).isEqualTo(20);
        assertThat(first.get("floor_ms").asLong()).isEqualTo(16_000);
        assertThat(first.get("total_vs_floor").asDouble()).isEqualTo(1.06); // 17000/16000 = 1.0625
        assertThat(first.get("predicted_converges").asBoolean()).isTrue();
        assertThat(first.get("predicted_total_ms").asLong()).isEqualTo(16_500);
        assertThat(first.get("overhead_ms").asLong()).isEqualTo(1200);
        assertThat(first.get("guest_work_ratio").asDouble()).isEqualTo(0.88);
        assertThat(first.get("guest_dirty_ratio").asDouble()).isEqualTo(0.99);
        assertThat(first.has("samples")).isFalse();

        // Unknowns are explicit nulls, not missing members, so every run has the same shape.
        JsonNode notConverged = j.at("/runs/3");
        assertThat(notConverged.get("outcome").asText()).isEqualTo("not-converged");
        assertThat(notConverged.get("downtime_ms").isNull()).isTrue();
        assertThat(notConverged.get("guest_pause_ms").isNull()).isTrue();
        assertThat(notConverged.get("predicted_converges").asBoolean()).isFalse();
        JsonNode noFloor = j.at("/runs/10");
        assertThat(noFloor.get("total_vs_floor").isNull()).isTrue();
        assertThat(noFloor.get("transferred_bytes").isNull()).isTrue();
        // a run without a plan, an overhead or guest figures says so with nulls
        assertThat(noFloor.get("predicted_converges").isNull()).isTrue();
        assertThat(noFloor.get("predicted_total_ms").isNull()).isTrue();
        assertThat(noFloor.get("overhead_ms").isNull()).isTrue();
        assertThat(noFloor.get("guest_work_ratio").isNull()).isTrue();

        assertThat(j.get("summary")).hasSize(8);
        assertThat(summary(j, "stress", "kubevirt").get("completed").asInt()).isZero();
        assertThat(summary(j, "stress", "ovirt").get("max_downtime_ms_seen").asLong()).isEqualTo(480);
        JsonNode budget = summary(j, "stress", "budget");
        assertThat(budget.get("runs").asInt()).isEqualTo(3);
        assertThat(budget.get("completed").asInt()).isEqualTo(3);
        assertThat(budget.get("met_budget").asInt()).isEqualTo(2); // 280 and 290 within 300; 310 is not
        assertThat(budget.get("median_total_ms").asLong()).isEqualTo(25_000);
        assertThat(budget.get("max_downtime_ms_seen").asLong()).isEqualTo(310);
        assertThat(budget.get("median_guest_pause_ms").asLong()).isEqualTo(305); // mean of 290 and 320

        JsonNode classic = summary(j, "stress", "classic");
        assertThat(classic.get("met_budget").asInt()).isEqualTo(1);
        assertThat(classic.get("median_total_ms").asLong()).isEqualTo(35_000); // even count: mean of middle two

        JsonNode qemu = summary(j, "stress", "qemu-default");
        assertThat(qemu.get("runs").asInt()).isEqualTo(1);
        assertThat(qemu.get("completed").asInt()).isZero();
        assertThat(qemu.get("met_budget").asInt()).isZero();
        assertThat(qemu.get("median_total_ms").isNull()).isTrue();
        assertThat(qemu.get("max_downtime_ms_seen").isNull()).isTrue();
    }

    @Test
    void seriesCarriesTheSamplesAndTheLogs() {
        ObjectNode s = new BenchReport(runs(), setup()).series();
        assertThat(s.get("runs")).hasSize(11);
        JsonNode first = s.at("/runs/0");
        assertThat(first.get("scenario").asText()).isEqualTo("idle");
        assertThat(first.get("samples")).hasSize(6);
        assertThat(first.at("/samples/0/0").asLong()).isZero();
        assertThat(first.at("/samples/0/1").asLong()).isEqualTo(512 * MIB);
        assertThat(first.at("/samples/5/0").asLong()).isEqualTo(5000);
        assertThat(first.at("/samples/5/1").asLong()).isZero();
        assertThat(s.at("/runs/10/samples")).isEmpty();
        assertThat(first.get("log")).extracting(JsonNode::asText).containsExactly("plan: converges", "completed");
        assertThat(s.at("/runs/10/log")).isEmpty();
    }

    @Test
    void markdownHasSetupRunRowsAndSummary() {
        String md = new BenchReport(runs(), setup()).markdown();
        assertThat(md).startsWith("# ");
        assertThat(md).contains("- **QEMU**: 10.0.2\n", "- **max-bandwidth**: 32 MiB/s\n");
        assertThat(md).contains("| Scenario | Policy | Rep | Outcome | Downtime (ms) | Budget (ms) | Guest pause (ms) "
                + "| Total (s) | × floor | Sent (MiB) | Passes | Max throttle % | Predicted | Overhead (s) | Guest work |");
        assertThat(md).contains("| idle | qemu-default | 1 | completed | 120 | 300 | 130 | 17.0 | 1.06 | 600.0 | 3 "
                + "| 20 | converges, 16.5 s | 1.2 | 0.88 |\n");
        assertThat(md).contains("| stress | qemu-default | 1 | not-converged | — | 300 | — | 60.0 | 3.75 | 600.0 "
                + "| 3 | 20 | not, 59.5 s | 1.2 | 0.88 |\n");
        assertThat(md).contains("| stress | kubevirt | 1 | aborted | — | 300 | — | 150.0 | 9.38 | 600.0 | 3 | 20 "
                + "| not, 149.5 s | 1.2 | 0.88 |\n");
        // completed, and the guest saw no pause above its resolution: not "unknown"
        assertThat(md).contains("| stress | budget | 3 | completed | 290 | 300 | <50 | 25.0 | — | — | — | — | — | — "
                + "| — |\n");
        assertThat(md).contains("guest agent <&> silent");
        // Summary row: runs, completed, met budget, median total (s), max downtime, median guest pause.
        assertThat(md).contains("| stress | budget | 3 | 3 | 2 | 25.0 | 310 | 305 |\n");
        assertThat(md).contains("| stress | qemu-default | 1 | 0 | 0 | — | — | — |\n");
    }

    @Test
    void markdownCellsCannotBreakTheTable() {
        BenchRun odd = new BenchRun("a|b", "p", 1, "failed", null, 300, 1000, null, null, null, null, 0,
                "line one\nline two", List.of());
        String md = new BenchReport(List.of(odd), Map.of()).markdown();
        assertThat(md).contains("| a\\|b | p | 1 | failed |");
        assertThat(md).contains("line one line two");
    }

    @Test
    void svgIsXmlWithOnePolylinePerSampledRunAndALegend() throws Exception {
        List<BenchRun> runs = runs();
        String svg = new BenchReport(runs, setup()).svg();
        Document doc = parse(svg);

        Element root = doc.getDocumentElement();
        assertThat(root.getLocalName()).isEqualTo("svg");
        NodeList lines = doc.getElementsByTagNameNS("*", "polyline");
        long sampled = runs.stream().filter(r -> !r.samples().isEmpty()).count();
        assertThat(lines.getLength()).isEqualTo((int) sampled).isEqualTo(10);

        // Same policy, same colour, across both panels.
        Map<String, String> colourByPolicy = new LinkedHashMap<>();
        for (int i = 0; i < lines.getLength(); i++) {
            Element line = (Element) lines.item(i);
            String policy = line.getTextContent().split(" ")[0];
            String previous = colourByPolicy.putIfAbsent(policy, line.getAttribute("stroke"));
            if (previous != null) {
                assertThat(line.getAttribute("stroke")).isEqualTo(previous);
            }
        }
        assertThat(colourByPolicy).containsOnlyKeys("qemu-default", "classic", "kubevirt", "ovirt", "budget");
        assertThat(colourByPolicy.values()).doesNotHaveDuplicates();

        List<String> texts = new ArrayList<>();
        NodeList textNodes = doc.getElementsByTagNameNS("*", "text");
        for (int i = 0; i < textNodes.getLength(); i++) {
            texts.add(textNodes.item(i).getTextContent());
        }
        assertThat(texts).contains("qemu-default", "classic", "budget", "idle", "stress", "time (s)",
                "remaining (MiB)");
        assertThat(texts).contains("0"); // ticks start at the origin
        // The one-sample run is marked with a point, since a single-point polyline is invisible.
        assertThat(doc.getElementsByTagNameNS("*", "circle").getLength()).isEqualTo(1);
    }

    @Test
    void svgCopesWithNoRunsAndNoSamplesAndOddNames() throws Exception {
        parse(new BenchReport(List.of(), Map.of()).svg());
        BenchRun bare = new BenchRun("<x & \"y\">", "p'1", 1, "failed", null, 300, 0, null, null, null, null, 0,
                null, List.of());
        BenchRun flat = new BenchRun("<x & \"y\">", "p2", 1, "aborted", null, 300, 0, null, null, null, null, 0,
                null, List.of(new BenchRun.Sample(0, 0), new BenchRun.Sample(0, 0)));
        Document doc = parse(new BenchReport(List.of(bare, flat), Map.of()).svg());
        assertThat(doc.getElementsByTagNameNS("*", "polyline").getLength()).isEqualTo(1);
        assertThat(doc.getDocumentElement().getTextContent()).contains("<x & \"y\">", "p'1");
        assertThat(doc.getDocumentElement().getTextContent()).doesNotContain("NaN", "Infinity");
    }

    @Test
    void writeCreatesStampedAndLatestFiles(@TempDir Path tmp) throws Exception {
        BenchReport report = new BenchReport(runs(), setup());
        Path dir = tmp.resolve("bench/out"); // does not exist yet
        List<Path> paths = report.write(dir, LocalDateTime.of(2025, 3, 4, 5, 6, 7));

        assertThat(paths).extracting(p -> p.getFileName().toString()).containsExactly(
                "bench-20250304-050607.md", "bench-20250304-050607.json", "bench-20250304-050607.svg",
                "latest.md", "latest.json", "latest.svg");
        try (var listing = Files.list(dir)) {
            assertThat(listing.map(p -> p.getFileName().toString()).toList()).hasSize(6); // no temp files left
        }
        assertThat(Files.readString(dir.resolve("latest.md"))).isEqualTo(report.markdown());
        assertThat(Files.readString(dir.resolve("latest.svg"))).isEqualTo(report.svg());
        JsonNode j = new ObjectMapper().readTree(dir.resolve("bench-20250304-050607.json").toFile());
        assertThat(j.get("runs")).hasSize(11);
        assertThat(j.get("summary")).hasSize(8);
        assertThat(j.at("/series/runs/0/samples")).hasSize(6);

        // A second report replaces latest.* and leaves the earlier stamped files alone.
        List<Path> again = new BenchReport(runs().subList(0, 1), setup()).write(dir,
                LocalDateTime.of(2025, 3, 4, 5, 6, 8));
        assertThat(again).hasSize(6);
        assertThat(new ObjectMapper().readTree(dir.resolve("latest.json").toFile()).get("runs")).hasSize(1);
        try (var listing = Files.list(dir)) {
            assertThat(listing.count()).isEqualTo(9);
        }
    }

    private static Document parse(String svg) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        return f.newDocumentBuilder().parse(new ByteArrayInputStream(svg.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void s4RunsGetTheirOwnTableAndJson() {
        BenchReport r = new BenchReport(List.of(), java.util.Map.of(), List.of(
                new DiskBenchRun("auto", 1, "completed", "background, then write-blocking", 23_800L, 39L,
                        546L << 20, 145L << 20, 4.0 * (1 << 20), 3.0 * (1 << 20), null),
                new DiskBenchRun("write-blocking", 1, "failed", null, 5_000L, null, null, null, 4.0 * (1 << 20), null,
                        "target gone")));
        assertThat(r.markdown()).contains("## S4: local disk, the guest writing throughout")
                .contains("| auto | background, then write-blocking | 1 | completed | 23.8 | 39 | 546.0 | 145.0 | 4.00 | "
                        + "3.00 | 0.75 |")
                .contains("- S4 / write-blocking #1: target gone").doesNotContain("## Runs");
        var disks = r.json().path("disk_runs");
        assertThat(disks.get(0).path("guest_write_share").asDouble()).isEqualTo(0.75);
        assertThat(disks.get(1).path("guest_write_share").isNull()).isTrue();
    }
}
