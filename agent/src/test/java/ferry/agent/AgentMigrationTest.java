package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.node.VmDefinition;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two agents on loopback: a VM created, started and live-migrated through the HTTP API. */
class AgentMigrationTest {
    @TempDir
    Path dir;

    @Test
    void liveMigrationThroughTheAgents() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            AgentClient a = defineOnA(c, 100, "bb", new BootblockGuest(128, 1024 * 1024 + (16L << 20), 100_000));
            assertThat(a.post("/api/v1/vms/100/start", null).path("status").asText()).isEqualTo("running");

            var req = new ObjectMapper().createObjectNode().put("vmid", 100).put("target", "b").put("online", true);
            // the target agent must set multifd's channels and compression on its QEMU too
            req.putObject("tuning").put("multifd_channels", 2).put("compression", "zstd")
                    .put("pause_before_switchover", true);
            JsonNode task = a.migrate(req);
            JsonNode done = c.await("a", task.path("id").asText(), Duration.ofMinutes(2));

            assertThat(done.path("status").asText()).as(done.toPrettyString()).isEqualTo("completed");
            assertThat(done.at("/result/downtime_ms").asLong()).isPositive();
            JsonNode onB = c.client("b").get("/api/v1/vms/100");
            assertThat(onB.path("owner").asText()).isEqualTo("b");
            assertThat(onB.path("status").asText()).isEqualTo("running");
            assertThat(onB.has("lock")).isFalse();
            assertThat(a.get("/api/v1/vms/100").has("status")).as("a no longer reports it").isFalse();
            assertThat(c.layout.taskLog("a", task.path("id").asText())).content()
                    .contains("stream: multifd 2 channels, zstd compression")
                    .containsPattern("switch-over: continued after \\d+ ms of checks")
                    .contains("migration finished successfully")
                    .contains("the migration stream over TLS: node 'a' presents CN=a, the only peer node 'b' admits");
            assertThat(done.at("/result/tls").asBoolean()).isTrue();
            assertNoKeyOutsidePki(c);
        }
    }

    /** A peer cannot talk a node down to plain TCP unless that node's agent was started to allow it. */
    @Test
    void tlsFalseIsRefusedByATargetThatTakesOnlyTls() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("t"), "a", "b")) {
            AgentClient a = defineOnA(c, 102, "bb", new BootblockGuest(64, 1024 * 1024 + (8L << 20), 100_000));
            a.post("/api/v1/vms/102/start", null);
            var req = new ObjectMapper().createObjectNode().put("vmid", 102).put("target", "b").put("online", true);
            JsonNode done = c.await("a", a.migrate(req.put("tls", false)).path("id").asText(), Duration.ofMinutes(2));
            assertThat(done.path("status").asText()).isEqualTo("failed");
            assertThat(done.at("/result/error").asText()).contains("node 'b' takes migration streams from its peers "
                    + "over TLS only").contains("--allow-plain-streams");
            assertThat(c.client("a").get("/api/v1/vms/102").path("status").asText()).isEqualTo("running");
        }
    }

    /** {@code "tls": false} sends the stream in plain TCP, for measurement only, and the task log says so. */
    @Test
    void tlsFalseIsPlainAndWarned() throws Exception {
        System.setProperty(Agent.ALLOW_PLAIN_STREAMS, "true");
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            AgentClient a = defineOnA(c, 101, "bb", new BootblockGuest(64, 1024 * 1024 + (8L << 20), 100_000));
            a.post("/api/v1/vms/101/start", null);
            var req = new ObjectMapper().createObjectNode().put("vmid", 101).put("target", "b").put("online", true);
            assertThat(catchThrowable(() -> a.migrate(req.deepCopy().put("tls", "no"))))
                    .hasMessageContaining("'tls' must be true or false");
            JsonNode task = a.migrate(req.put("tls", false));
            JsonNode done = c.await("a", task.path("id").asText(), Duration.ofMinutes(2));
            assertThat(done.path("status").asText()).as(done.toPrettyString()).isEqualTo("completed");
            assertThat(done.at("/result/tls").asBoolean()).isFalse();
            assertThat(c.layout.taskLog("a", task.path("id").asText())).content()
                    .containsPattern("WARNING: --no-tls: the migration stream cross.* plain TCP, unauthenticated; this "
                            + "option exists only to measure what TLS costs");
        } finally {
            System.clearProperty(Agent.ALLOW_PLAIN_STREAMS);
        }
    }

    /** Task logs, agent files, run directories: no private key anywhere but the cluster's pki folder. */
    private static void assertNoKeyOutsidePki(LocalCluster c) throws Exception {
        Path pki = c.layout.dir().resolve("pki");
        try (var files = Files.walk(c.layout.dir())) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.startsWith(pki))
                    .filter(f -> !f.toString().endsWith(".raw") && !f.toString().endsWith(".qcow2")).toList()) {
                try {
                    assertThat(Files.readString(f, java.nio.charset.StandardCharsets.ISO_8859_1)).as(f.toString())
                            .doesNotContain("PRIVATE KEY");
                } catch (java.io.IOException unreadable) {
                    // a socket
                }
            }
        }
    }

    /** A local data disk mirrored through the agents: the target side's steps are HTTP calls. */
    @Test
    void liveMigrationWithALocalDiskThroughTheAgents() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            BootblockGuest guest = new BootblockGuest(64, 1024 * 1024 + (8L << 20), 100_000);
            Path shared = c.layout.storages("a").get("shared").path();
            Files.copy(Bootblock.image(BootblockGuest.cacheDir(), guest.regionEnd(), guest.delay()),
                    shared.resolve("vm-104-disk-0.raw"));
            Path data = c.layout.storages("a").get("local").path().resolve("vm-104-disk-1.qcow2");
            run("qemu-img", "create", "-q", "-f", "qcow2", data.toString(), "32M");
            run("qemu-io", "-f", "qcow2", "-c", "write -P 0x3c 0 4M", data.toString());
            AgentClient a = c.client("a");
            a.post("/api/v1/vms", new VmDefinition(104, "disky", 64, 1, null, null, null, List.of(
                    new VmDefinition.Disk("shared", "vm-104-disk-0.raw", "raw", "ide"),
                    new VmDefinition.Disk("local", "vm-104-disk-1.qcow2", "qcow2", "scsi")), null, null));
            a.post("/api/v1/vms/104/start", null);
            var req = new ObjectMapper().createObjectNode().put("vmid", 104).put("target", "b").put("online", true);
            Throwable refused = catchThrowable(() -> a.migrate(req.deepCopy()));
            assertThat(refused).hasMessageContaining("local:vm-104-disk-1.qcow2 (32.0 MiB qcow2)")
                    .hasMessageContaining("--with-local-disks");

            JsonNode task = a.migrate(req.put("with_local_disks", true).put("target_storage", "local"));
            JsonNode done = c.await("a", task.path("id").asText(), Duration.ofMinutes(2));
            assertThat(done.path("status").asText()).as(done.toPrettyString()).isEqualTo("completed");
            assertThat(done.at("/result/disks/0/name").asText()).isEqualTo("drive-disk1");
            assertThat(c.layout.taskLog("a", task.path("id").asText())).content()
                    .containsPattern("NBD server on node 'b' at 127.0.0.1:\\d+ exports disk1 over TLS");
            assertThat(done.at("/result/disks/0/bytes").asLong()).isEqualTo(32L << 20);
            assertThat(done.at("/result/disks/0/mode").asText()).isEqualTo("background, then write-blocking");
            assertThat(c.client("b").get("/api/v1/vms/104").path("status").asText()).isEqualTo("running");
            assertThat(data).as("source volume freed").doesNotExist();
            assertThat(c.layout.storages("b").get("local").path().resolve("vm-104-disk-1.qcow2")).exists();
        }
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    /** A bootblock VM on node a's shared storage, defined there (not started); returns a's client. */
    private static AgentClient defineOnA(LocalCluster c, int vmid, String name, BootblockGuest guest) throws Exception {
        return c.defineOnA(vmid, name, guest);
    }

    /**
     * Postcopy through the agents: the hand-over (ownership moved, then {@code cont} on the target
     * over HTTP) happens while the guest is stopped, so it counts in QEMU's downtime; it must stay
     * within the budget.
     */
    @Test
    void postcopyThroughTheAgentsKeepsTheBudget() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            AgentClient a = defineOnA(c, 102, "hot", new BootblockGuest(128, 1024 * 1024 + (32L << 20), 20_000));
            a.post("/api/v1/vms/102/start", null);
            Thread.sleep(3000); // the guest's first pass over its 32 MiB
            JsonNode task = a.migrate(new ObjectMapper().createObjectNode().put("vmid", 102).put("target", "b")
                    .put("online", true).put("bwlimit", 16).put("downtime", 300).put("max_duration", 60)
                    .put("allow_postcopy", true));
            JsonNode done = c.await("a", task.path("id").asText(), Duration.ofMinutes(2));
            assertThat(done.path("status").asText()).as(done.toPrettyString()).isEqualTo("completed");
            assertThat(done.at("/result/postcopy").asBoolean()).as("budget switched to postcopy").isTrue();
            long downtime = done.at("/result/downtime_ms").asLong();
            System.out.println("postcopy through the agents: QEMU-reported downtime " + downtime + " ms");
            assertThat(downtime).as("QEMU-reported downtime, hand-over included").isLessThanOrEqualTo(300);
            assertThat(c.client("b").get("/api/v1/vms/102").path("status").asText()).isEqualTo("running");
            String log = Files.readString(c.layout.taskLog("a", task.path("id").asText()));
            var handOver = java.util.regex.Pattern.compile("resumed on node 'b' (\\d+) ms after postcopy-active")
                    .matcher(log);
            assertThat(handOver.find()).as(log).isTrue();
            long ms = Long.parseLong(handOver.group(1));
            System.out.println("postcopy through the agents: hand-over " + ms + " ms after postcopy-active");
            assertThat(downtime + ms).as("downtime and hand-over together").isLessThanOrEqualTo(300);
        }
    }

    @Test
    void planPredictsWithoutMigrating() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            AgentClient a = defineOnA(c, 101, "bb", new BootblockGuest(128, 1024 * 1024 + (16L << 20), 100_000));
            a.post("/api/v1/vms/101/start", null);
            ObjectMapper json = new ObjectMapper();
            var plan = a.post("/api/v1/vms/101/plan", json.createObjectNode().put("target", "b").put("sample_seconds", 1)
                    .put("bwlimit", 16));
            System.out.println("plan with a limit: " + plan);
            assertThat(plan.path("inputs").path("link_source").asText()).isEqualTo("bandwidth limit 16 MiB/s");
            assertThat(plan.path("inputs").path("dirty_bytes_per_s").asDouble()).as("the guest dirties ~10 MB/s").isPositive();
            assertThat(plan.path("inputs").path("zero_share").asDouble()).as("a bootblock guest is mostly zero").isGreaterThan(0.5);
            assertThat(plan.path("strategies")).extracting(n -> n.path("strategy").asText()).containsExactly(
                    "qemu-default", "classic", "budget:precopy", "budget:throttle", "budget:postcopy", "budget:pause",
                    "kubevirt", "ovirt");
            assertThat(plan.path("recommended").asText()).isEqualTo("budget");
            var probed = a.post("/api/v1/vms/101/plan", json.createObjectNode().put("target", "b").put("sample_seconds", 1));
            assertThat(probed.path("inputs").path("link_source").asText()).startsWith("measured by a 1 s probe to node 'b'");
            assertThat(probed.path("inputs").path("link_bytes_per_s").asDouble()).as("loopback").isGreaterThan(50e6);
            // nothing changed: the VM runs on a, unlocked, and nothing runs on b
            assertThat(a.get("/api/v1/vms/101").path("status").asText()).isEqualTo("running");
            assertThat(c.layout.open().vm(101).orElseThrow().lock()).isNull();
            Throwable wrong = catchThrowable(() -> a.post("/api/v1/vms/101/plan",
                    json.createObjectNode().put("target", "nowhere")));
            assertThat(wrong).hasMessageContaining("unknown target node 'nowhere'");
            Throwable bad = catchThrowable(() -> a.post("/api/v1/vms/101/plan",
                    json.createObjectNode().put("target", "b").put("bwlimit", -3)));
            assertThat(((AgentClient.AgentException) bad).status()).isEqualTo(400);
            a.post("/api/v1/vms/101/stop", null);
        }
    }

    @Test
    void badInputIsAClearError() throws Exception {
        // who may call at all, and what, is AgentTlsTest's
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            AgentClient a = c.client("a");
            Throwable bad = catchThrowable(() -> a.post("/api/v1/migrations", "{not json"));
            assertThat(((AgentClient.AgentException) bad).status()).isEqualTo(400);
            Throwable unknown = catchThrowable(() -> a.migrate(new ObjectMapper().createObjectNode().put("vmid", 555)
                    .put("target", "b")));
            assertThat(((AgentClient.AgentException) unknown).status()).isEqualTo(409);
            assertThat(unknown).hasMessageContaining("VM 555 does not exist");
            Throwable invalid = catchThrowable(() -> a.post("/api/v1/vms", new ObjectMapper().createObjectNode()
                    .put("vmid", 5).put("name", "x")));
            assertThat(((AgentClient.AgentException) invalid).status()).isEqualTo(400);
            assertThat(invalid).hasMessageContaining("vmid must be between 100");
            assertThat(c.layout.open().vms()).isEmpty();

            var unknownField = new ObjectMapper().createObjectNode().put("vmid", 100).put("target", "b");
            unknownField.putObject("tuning").put("multifd", 2);
            Throwable field = catchThrowable(() -> a.migrate(unknownField));
            assertThat(((AgentClient.AgentException) field).status()).isEqualTo(400);
            assertThat(field).hasMessageContaining("unknown field 'multifd' in 'tuning'").hasMessageContaining("multifd_channels");
            var lz4 = new ObjectMapper().createObjectNode().put("vmid", 100).put("target", "b");
            lz4.putObject("tuning").put("multifd_channels", 2).put("compression", "lz4");
            Throwable value = catchThrowable(() -> a.migrate(lz4));
            assertThat(((AgentClient.AgentException) value).status()).isEqualTo(400);
            assertThat(value).hasMessageContaining("unknown compression 'lz4'");
            var incoming = new ObjectMapper().createObjectNode();
            incoming.set("vm", new ObjectMapper().valueToTree(new VmDefinition(100, "x", 64, 1, null, null, null,
                    List.of(), null, null)));
            incoming.putArray("capabilities");
            incoming.putObject("parameters").put("max-bandwidth", 1);
            Throwable param = catchThrowable(() -> a.post("/api/v1/incoming", incoming));
            assertThat(((AgentClient.AgentException) param).status()).isEqualTo(400);
            assertThat(param).hasMessageContaining("not 'max-bandwidth'");
        }
    }
}
