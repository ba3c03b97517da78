package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.testkit.LinuxStressGuest;
import ferry.testkit.netns.HostNetwork;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@code ferry demo} end to end: a real two-node cluster on loopback or on namespaced hosts, torn down afterwards. */
class DemoCommandTest {
    private static final Pattern START_LINE = Pattern.compile(
            "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d starting migration of VM 100 to node 'b' \\((127\\.0\\.0\\.1|10\\.77\\.0\\.2)\\)");
    private static final Pattern CLUSTER_LINE = Pattern.compile("cluster: 2 nodes \\(a, b\\) in (\\S+),");
    private static final Path TMP = Path.of(System.getProperty("java.io.tmpdir"));

    @Test
    @Timeout(120)
    void jsonSummaryOfTheDefaultGuest() throws Exception {
        JsonNode j = demo("demo", "--json");
        assertThat(j.path("guest").asText()).isEqualTo(LinuxStressGuest.available() ? "linux-stress" : "bootblock");
        assertThat(j.path("hosts").asText()).isEqualTo("loopback");
        assertThat(j.path("store").asText()).isEqualTo("directory");
        assertThat(j.path("link").isMissingNode()).isTrue();
        // the demo's cluster has certificates: the streams went over TLS, and no key reached the log
        assertThat(j.path("tls").asBoolean()).as(j.path("log").toString()).isTrue();
        assertThat(j.path("log").toString()).contains("over TLS").doesNotContain("WARNING").doesNotContain("PRIVATE KEY");
    }

    /**
     * The linux-stress guest with its local disk from a node on Debian's QEMU 7.2 to one on 10.0.
     * Tagged long, not hidden: in 2 of 8 runs the guest's kernel oopsed right after the hand-over
     * (a NULL function pointer in an hrtimer callback, from the APIC timer interrupt) and rebooted
     * on 10.0, although the bootblock's page oracle is clean 7.2 -> 10.0 every time. Until that is
     * understood (issue 15) the default suite does not run it; scripts/test-long does, and fails
     * when it happens.
     */
    @Test
    @Tag("long")
    @Timeout(180)
    void fromANodeOnQemu72() throws Exception {
        Assumptions.assumeTrue(LinuxStressGuest.available(), LinuxStressGuest::unavailableReason);
        try {
            ferry.testkit.Qemu72.provide();
        } catch (ferry.node.NodeException e) {
            Assumptions.abort("QEMU 7.2 unavailable: " + e.getMessage());
        }
        JsonNode j = demo("demo", "--source-qemu", "7.2", "--json");
        assertThat(j.path("status").asText()).as(j.path("log").toString()).isEqualTo("completed");
        assertThat(j.path("source_qemu").asText()).startsWith("7.2.");
        assertThat(j.path("target_qemu").asText()).startsWith("10.");
        assertThat(j.path("integrity").asText()).isEqualTo("ok");
        assertThat(j.path("disks").get(0).path("integrity").asText()).isEqualTo("ok");
        assertThat(j.path("log").toString()).contains("pinned machine type 'pc-i440fx-7.2'")
                .contains("lacks block-job-change").contains("over TLS")
                // 7.2 loses TCG guest writes in a live stream: Ferry pauses the guest for all of it
                .contains("loses some of its writes in a live migration").contains("for the whole stream");
        assertThat(j.path("paused_by_ferry_ms").asLong()).isPositive();
    }

    /**
     * Across hosts: the stream must have left host a's eth0 (its counter grew by at least QEMU's
     * bytes) and gone no faster than the shaped link; no namespace of this process is left.
     */
    @Test
    @Timeout(240)
    void jsonSummaryAcrossNamespacedHosts() throws Exception {
        String reason = HostNetwork.unavailableReason();
        Assumptions.assumeTrue(reason == null, () -> "hosts as network namespaces unavailable: " + reason);
        String ours = "fy" + ProcessHandle.current().pid() + "-";
        JsonNode j = demo("demo", "--hosts", "--link-rate", "200mbit", "--json");
        assertThat(j.path("hosts").asText()).isEqualTo("netns");
        // the records live in an etcd on the ctl host when etcd is installed (install-deps installs it)
        assertThat(j.path("store").asText()).isEqualTo(ferry.testkit.etcd.EtcdServer.unavailableReason() == null
                ? "etcd" : "directory");
        // and the agents and the demo's client reach that etcd over mutual TLS
        assertThat(j.path("store_tls").asBoolean()).isEqualTo(j.path("store").asText().equals("etcd"));
        assertThat(j.path("log").toString()).contains("starting migration of VM 100 to node 'b' (10.77.0.2)");
        // over the bridge the streams go over TLS, the target's certificate checked for its address
        assertThat(j.path("tls").asBoolean()).isTrue();
        assertThat(j.path("log").toString()).contains("for 10.77.0.2");
        JsonNode link = j.path("link");
        long rate = link.path("rate_bits_per_s").asLong();
        long stream = link.path("stream_bytes").asLong();
        assertThat(rate).isEqualTo(200_000_000L);
        assertThat(link.path("source_namespace").asText()).startsWith(ours).endsWith("-a");
        assertThat(link.path("target_namespace").asText()).startsWith(ours).endsWith("-b");
        assertThat(stream).as(link.toString()).isEqualTo(j.path("transferred_bytes").asLong()).isGreaterThan(32L << 20);
        assertThat(link.path("source_tx_bytes").asLong()).as(link.toString()).isGreaterThanOrEqualTo(stream);
        // tbf lets a 10 ms burst through on top of the rate: 5% covers it
        assertThat(link.path("stream_throughput_bits_per_s").asLong()).as(link.toString())
                .isPositive().isLessThanOrEqualTo((long) (rate * 1.05));
        System.out.println("demo --hosts: " + link + ", duration " + j.path("duration_ms") + " ms, downtime "
                + j.path("downtime_ms") + " ms");
        String left = new String(new ProcessBuilder("ip", "netns", "list").start().getInputStream().readAllBytes());
        assertThat(left).as("namespaces left by the demo").doesNotContain(ours);
    }

    /** Stopped (SIGTERM, the path Ctrl-C takes) while the VM runs: namespaces, QEMUs, agents and folder all go. */
    @Test
    @Timeout(180)
    void aHostsDemoStoppedMidwayLeavesNothing() throws Exception {
        String reason = HostNetwork.unavailableReason();
        Assumptions.assumeTrue(reason == null, () -> "hosts as network namespaces unavailable: " + reason);
        Process demo = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "demo", "--hosts", "--guest", "bootblock")
                .redirectErrorStream(true).start();
        String theirs = "fy" + demo.pid() + "-";
        Path dir = null;
        StringBuilder seen = new StringBuilder();
        try (var lines = new java.io.BufferedReader(new java.io.InputStreamReader(demo.getInputStream()))) {
            for (String line; (line = lines.readLine()) != null; ) {
                seen.append(line).append('\n');
                Matcher m = CLUSTER_LINE.matcher(line);
                if (m.find()) {
                    dir = Path.of(m.group(1));
                }
                if (line.contains("VM 100 runs on node a")) {
                    break;
                }
            }
            assertThat(dir).as(seen.toString()).isNotNull();
            assertThat(FerryCli.qemusUnder(dir)).as("the guest's QEMU runs").isNotEmpty();
            demo.destroy();
            assertThat(demo.waitFor(60, TimeUnit.SECONDS)).as("the stopped demo ended").isTrue();
        } finally {
            demo.destroyForcibly();
        }
        String left = new String(new ProcessBuilder("ip", "netns", "list").start().getInputStream().readAllBytes());
        assertThat(left).as("namespaces left by the stopped demo").doesNotContain(theirs);
        assertThat(FerryCli.qemusUnder(dir)).as("QEMUs left by the stopped demo").isEmpty();
        assertThat(dir).doesNotExist();
    }

    @Test
    void aLinkRateThatIsNoRateIsAUsageError() {
        FerryCli.Run r = ferry("demo", "--hosts", "--link-rate", "fast");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("'fast' is not a link rate");
    }

    @Test
    @Timeout(120)
    void jsonSummaryOfTheBootblockGuest() throws Exception {
        JsonNode j = demo("demo", "--guest", "bootblock", "--json");
        assertThat(j.path("guest").asText()).isEqualTo("bootblock");
    }

    @Test
    void unknownGuestIsAUsageError() {
        FerryCli.Run r = ferry("demo", "--guest", "nonsense");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("--guest must be linux-stress or bootblock, got 'nonsense'");
        assertThat(r.out()).isEmpty();
    }

    /** Runs the demo, checks the documented summary, and that its folder and QEMUs are gone afterwards. */
    private static JsonNode demo(String... args) throws Exception {
        Set<Path> before = demoDirs();
        CompletableFuture<FerryCli.Run> run = CompletableFuture.supplyAsync(() -> ferry(args));
        // learn the demo's temp folder while it runs (--json prints nothing else)
        Path dir = null;
        while (!run.isDone()) {
            List<Path> fresh = new ArrayList<>(demoDirs());
            fresh.removeAll(before);
            if (!fresh.isEmpty()) {
                dir = fresh.get(0);
                break;
            }
            Thread.sleep(20);
        }
        FerryCli.Run r = run.get(110, TimeUnit.SECONDS);
        assertThat(r.code()).as(r.both()).isZero();
        JsonNode j = r.json();
        assertThat(j.path("status").asText()).as(r.out()).isEqualTo("completed");
        assertThat(j.path("integrity").asText()).isEqualTo("ok");
        assertThat(j.path("vmid").asInt()).isEqualTo(100);
        assertThat(j.path("source").asText()).isEqualTo("a");
        assertThat(j.path("target").asText()).isEqualTo("b");
        assertThat(j.path("online").asBoolean()).isTrue();
        assertThat(j.path("duration_ms").asLong()).isPositive();
        assertThat(j.path("downtime_ms").isIntegralNumber()).as(r.out()).isTrue();
        assertThat(j.path("downtime_ms").asLong()).isNotNegative();
        assertThat(j.path("transferred_bytes").asLong()).isPositive();
        assertThat(j.path("policy").asText()).isEqualTo("budget");
        assertThat(j.path("task").asText()).startsWith("migrate-a-100-");
        assertThat(j.path("problems")).isEmpty();
        List<String> log = new ArrayList<>();
        j.path("log").forEach(l -> log.add(l.asText()));
        assertThat(log).isNotEmpty().anyMatch(l -> START_LINE.matcher(l).matches())
                .anyMatch(l -> l.contains("migration finished successfully"));
        // the linux-stress guest writes to its local disk throughout; the oracle checked node b's copy
        JsonNode disks = j.path("disks");
        if (j.path("guest").asText().equals("linux-stress")) {
            assertThat(disks).as(r.out()).hasSize(1);
            JsonNode d = disks.get(0);
            assertThat(d.path("integrity").asText()).as(d.toString()).isEqualTo("ok");
            assertThat(d.path("bytes").asLong()).as(d.toString()).isPositive();
            assertThat(d.path("mode").asText()).as(d.toString()).isNotEmpty();
            assertThat(d.path("last_acknowledged_write").asLong()).as(d.toString()).isNotNegative()
                    .isLessThanOrEqualTo(d.path("newest_write_on_disk").asLong());
            assertThat(log).anyMatch(l -> l.contains("all mirroring jobs are ready"));
            System.out.println("demo disk: " + d + ", duration " + j.path("duration_ms") + " ms, downtime "
                    + j.path("downtime_ms") + " ms");
        } else {
            assertThat(disks).as("the bootblock guest's disk is on shared storage").isEmpty();
        }

        assertThat(dir).as("the demo's temp folder under " + TMP).isNotNull();
        assertThat(dir).doesNotExist();
        long deadline = System.nanoTime() + 5_000_000_000L;
        List<ProcessHandle> left = FerryCli.qemusUnder(dir);
        while (!left.isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
            left = FerryCli.qemusUnder(dir);
        }
        assertThat(left).as("QEMUs left running by the demo").isEmpty();
        return j;
    }

    private static Set<Path> demoDirs() throws IOException {
        try (Stream<Path> s = Files.list(TMP)) {
            return s.filter(p -> p.getFileName().toString().startsWith("ferry-demo")).collect(Collectors.toSet());
        }
    }
}
