package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.Agent;
import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.agent.JsonKeys;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator's commands against a real two-node cluster on loopback: the agents run in this
 * process ({@code cluster up} spawns the shaded jar, which test classes cannot), everything else
 * goes through the CLI.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class ClusterCliTest {
    private static final String ABANDONED = "abandoned-by-unlock";

    @TempDir
    static Path tmp;

    private Path dir;
    private ClusterLayout layout;
    private Agent a;
    private Agent b;

    @BeforeAll
    void createClusterAndStartAgents() throws IOException {
        dir = tmp.resolve("c");
        int port = FerryCli.twoFreePorts();
        FerryCli.Run r = ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port", Integer.toString(port));
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("created cluster 'ferry'").contains("nodes a, b");
        layout = new ClusterLayout(dir);
        a = Agent.start(dir, "a");
        b = Agent.start(dir, "b");
    }

    @AfterAll
    void stopEverything() throws InterruptedException {
        if (layout == null) {
            return;
        }
        // the agents hold each VM's only QMP connection: close them before stopping QEMUs
        for (Agent ag : new Agent[] {a, b}) {
            if (ag != null) {
                ag.close();
            }
        }
        FerryCli.stopQemus(layout, dir, List.of("a", "b"), List.of(100, 101, 102, 103));
    }

    /** A bootblock VM on the shared storage; returns its definition file. */
    private Path bootblockVm(int vmid, long regionMiB, int delay) throws IOException {
        return FerryCli.bootblockVm(dir, tmp, vmid, regionMiB, delay);
    }

    /** The one naming convention of the CLI's --json: every key snake_case. */
    static void assertSnakeCase(FerryCli.Run r) {
        assertThat(JsonKeys.notSnakeCase(r.json())).as("keys not in snake_case in %s", r.out()).isEmpty();
    }

    private JsonNode vmStatus(int vmid) {
        FerryCli.Run r = ferry(dir, "vm", "status", Integer.toString(vmid), "--json");
        assertThat(r.code()).as(r.both()).isZero();
        assertSnakeCase(r);
        return r.json();
    }

    private Optional<?> stored(int vmid) {
        try (ClusterStore s = layout.open()) {
            return s.vm(vmid);
        }
    }

    @Test
    void createStartAndMigrateAVmThroughTheCli() throws IOException {
        Path def = bootblockVm(100, 16, 100_000);
        FerryCli.Run r = ferry(dir, "vm", "create", "--node", "a", def.toString(), "--json");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.json().path("owner").asText()).isEqualTo("a");
        assertThat(r.json().path("status").asText()).isEqualTo("stopped");

        r = ferry(dir, "vm", "start", "100", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.json().path("status").asText()).isEqualTo("running");

        // a running VM needs --online; nothing changes
        r = ferry(dir, "migrate", "100", "b");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("--online").contains("VM 100 is running on node 'a'");
        JsonNode st = vmStatus(100);
        assertThat(st.path("owner").asText()).isEqualTo("a");
        assertThat(st.has("lock")).isFalse();

        r = ferry(dir, "migrate", "100", "b", "--online", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        assertSnakeCase(r);
        FerryCli.Run migrated = r;
        assertThat(r.err().lines().filter(l -> l.startsWith("{"))).as("progress lines").isNotEmpty()
                .allSatisfy(l -> assertThat(JsonKeys.notSnakeCase(migrated.json(l))).as(l).isEmpty());
        JsonNode m = r.json();
        assertThat(m.path("status").asText()).isEqualTo("completed");
        assertThat(m.path("source").asText()).isEqualTo("a");
        assertThat(m.path("target").asText()).isEqualTo("b");
        assertThat(m.path("online").asBoolean()).isTrue();
        assertThat(m.path("transferred_bytes").asLong()).isPositive();
        String task = m.path("task").asText();
        assertThat(task).startsWith("migrate-a-100-");

        st = vmStatus(100);
        for (String[] json : new String[][] {{"vm", "list", "--json"}, {"task", "list", "--json"},
                {"plan", "100", "a", "--sample", "1", "--json"}, {"cluster", "status", "--json"}}) {
            FerryCli.Run each = ferry(dir, json);
            assertThat(each.code()).as(each.both()).isZero();
            assertSnakeCase(each);
        }
        assertThat(st.path("owner").asText()).isEqualTo("b");
        assertThat(st.path("status").asText()).isEqualTo("running");
        assertThat(st.has("lock")).isFalse();

        r = ferry(dir, "migrate", "100", "b", "--online");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("already on node 'b'");

        r = ferry(dir, "migrate", "100", "zz", "--online");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("unknown target node 'zz'").contains("a, b");

        // the finished task's log, from the node that ran it
        r = ferry(dir, "task", "log", task);
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("starting migration of VM 100 to node 'b' (127.0.0.1)")
                .contains("migration finished successfully");
        assertThat(layout.taskLog("a", task)).exists();
        assertThat(Files.readString(layout.taskLog("a", task))).contains("migration finished successfully");
    }

    @Test
    void migratingAnUnknownVmIsRefused() {
        FerryCli.Run r = ferry(dir, "migrate", "999", "a");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("VM 999 does not exist");
    }

    @Test
    void malformedDefinitionsCreateNothing() throws IOException {
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{\"vmid\":300,\"name\":\"x\",");
        FerryCli.Run r = ferry(dir, "vm", "create", "--node", "a", bad.toString());
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("is not valid JSON");
        assertThat(stored(300)).isEmpty();

        // valid JSON, but a storage the node does not have
        Files.writeString(bad, "{\"vmid\":301,\"name\":\"x\",\"memory\":128,\"disks\":[{\"storage\":\"nope\","
                + "\"volume\":\"vm-301-disk-0.raw\",\"format\":\"raw\",\"bus\":\"ide\"}]}");
        r = ferry(dir, "vm", "create", "--node", "a", bad.toString());
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("storage 'nope' does not exist");
        assertThat(stored(301)).isEmpty();

        r = ferry(dir, "vm", "create", "--node", "a", tmp.resolve("missing.json").toString());
        assertThat(r.code()).as(r.both()).isNotZero();
        assertThat(r.err()).contains("missing.json");

        // what a new user writes: no vCPU, a misspelt field, a kernel that is not there
        Path kernel = Files.writeString(tmp.resolve("vmlinuz"), "a file");
        for (String[] c : new String[][] {
                {",\"vcpus\":0", "vcpus must be 1-512, got 0"},
                {",\"memmory\":128", "unknown field 'memmory'"},
                {",\"boot\":{\"kernel\":\"/no/such/vmlinuz\"}", "boot file '/no/such/vmlinuz' does not exist on node 'a'"}}) {
            String boot = c[0].contains("boot") ? "" : ",\"boot\":{\"kernel\":\"" + kernel + "\"}";
            Files.writeString(bad, "{\"vmid\":302,\"name\":\"x\",\"memory\":128" + boot + c[0] + "}");
            r = ferry(dir, "vm", "create", "--node", "a", bad.toString());
            assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
            assertThat(r.err()).contains(c[1]);
            assertThat(stored(302)).isEmpty();
        }
    }

    @Test
    void clusterStatusShowsBothAgentsUp() {
        FerryCli.Run r = ferry(dir, "cluster", "status");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out().lines().filter(l -> l.strip().startsWith("node a") || l.strip().startsWith("node b")))
                .hasSize(2).allMatch(l -> l.matches(".*\\bup\\b.*"));
        assertThat(r.out()).containsPattern("certificate node a +valid until \\S+ \\(\\d+ days left\\)");
    }

    @Test
    void certificatesAreListedRenewedAndIssuedForANewNode() throws Exception {
        FerryCli.Run st = ferry(dir, "cluster", "status", "--json");
        assertThat(st.json().path("certificates")).extracting(c -> c.path("who").asText())
                .containsExactly("ca", "admin", "node a", "node b");
        assertThat(st.json().path("certificates")).allMatch(c -> !c.path("expired").asBoolean()
                && c.path("days_left").asInt() > 800);

        Path other = tmp.resolve("other");
        assertThat(ferry("cluster", "create", other.toString(), "--nodes", "a", "--port", "18999").code()).isZero();
        var before = ferry.cluster.pki.Pem.readCertificate(other.resolve("pki/nodes/a/cert.pem")).getSerialNumber();
        FerryCli.Run rotated = ferry(other, "cluster", "rotate-certs", "--node", "a");
        assertThat(rotated.code()).as(rotated.both()).isZero();
        assertThat(rotated.out()).contains("node a: new certificate").contains("within seconds").doesNotContain("admin:");
        assertThat(ferry.cluster.pki.Pem.readCertificate(other.resolve("pki/nodes/a/cert.pem")).getSerialNumber())
                .isNotEqualTo(before);

        FerryCli.Run added = ferry(other, "cluster", "add-node", "c", "--agent", "10.77.0.9:8640");
        assertThat(added.code()).as(added.both()).isZero();
        try (ClusterStore s = new ClusterLayout(other).open()) {
            assertThat(s.config().node("c").orElseThrow().migrationAddress()).isEqualTo("10.77.0.9");
        }
        var c = ferry.cluster.pki.ClusterPki.in(other).node("c");
        assertThat(c.certificate().getSubjectAlternativeNames()).anyMatch(san -> san.get(1).equals("10.77.0.9"));
        assertThat(Files.getPosixFilePermissions(other.resolve("pki/nodes/c/key.pem")))
                .isEqualTo(java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        FerryCli.Run twice = ferry(other, "cluster", "add-node", "c", "--agent", "10.77.0.9:8641");
        assertThat(twice.code()).isEqualTo(Main.USAGE);
        assertThat(twice.err()).contains("node 'c' twice");

        java.time.Instant now = java.time.Instant.now();
        var expired = ferry.cluster.pki.ClusterPki.in(other).authority().issue(ferry.cluster.pki.Identity.admin(),
                List.of(), now.minus(Duration.ofDays(9)), now.minus(Duration.ofDays(2)));
        Files.writeString(other.resolve("pki/admin/cert.pem"), ferry.cluster.pki.Pem.of(expired.certificate()));
        Files.writeString(other.resolve("pki/admin/key.pem"), ferry.cluster.pki.Pem.of(expired.key()));
        FerryCli.Run list = ferry(other, "vm", "list");
        assertThat(list.code()).isNotZero();
        assertThat(list.err()).contains("certificate of the admin expired").contains("rotate-certs --admin");
        FerryCli.Run expiredStatus = ferry(other, "cluster", "status");
        assertThat(expiredStatus.out()).contains("cannot ask the agents: the certificate of the admin expired")
                .containsPattern("certificate admin +EXPIRED");
        assertThat(ferry(other, "cluster", "rotate-certs", "--admin").code()).isZero();
        assertThat(ferry(other, "cluster", "status", "--json").json().path("certificates").get(1).path("expired")
                .asBoolean()).isFalse();

        Files.delete(other.resolve("pki/ca-key.pem"));
        FerryCli.Run noKey = ferry(other, "cluster", "rotate-certs");
        assertThat(noKey.code()).isNotZero();
        assertThat(noKey.err()).contains("is not on this machine");
    }

    @Test
    void cancellingAnUnknownTaskIsAUsageError() {
        FerryCli.Run r = ferry(dir, "task", "cancel", "bogus");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("'bogus' is not a task id");

        r = ferry(dir, "task", "cancel", "migrate-a-100-1700000000000-99");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("no task 'migrate-a-100-1700000000000-99' on node 'a'");
    }

    @Test
    void creatingAClusterWhereOneIsFails() {
        FerryCli.Run r = ferry("cluster", "create", dir.toString(), "--nodes", "a,b");
        assertThat(r.code()).as(r.both()).isNotZero();
        assertThat(r.err()).contains("already holds a cluster");
    }

    @Test
    void cancelStopsASlowMigrationAndTheVmStaysOnA() throws Exception {
        SlowMigration slow = slowMigration(101);
        String task = slow.task();
        CompletableFuture<FerryCli.Run> migrate = slow.migrate();
        AgentClient agentA = agent("a");

        FerryCli.Run c = ferry(dir, "task", "cancel", task);
        assertThat(c.code()).as(c.both()).isZero();
        assertThat(c.out()).contains("cancel requested for " + task);

        FerryCli.Run r = migrate.get(60, TimeUnit.SECONDS);
        assertThat(r.code()).as(r.both()).isEqualTo(Main.FAILED);
        assertThat(r.out()).contains("cancelled by the user").contains("migrate_cancel");
        assertThat(agentA.get("/api/v1/tasks/" + task).path("status").asText()).isEqualTo("cancelled");

        JsonNode st = vmStatus(101);
        assertThat(st.path("owner").asText()).isEqualTo("a");
        assertThat(st.path("status").asText()).isEqualTo("running");
        assertThat(st.has("lock")).as(st.toString()).isFalse();
        assertThat(FerryCli.qemusUnder(layout.runRoot("b").resolve("101"))).isEmpty();
    }

    /** A migration under way and the {@code migrate} command that follows it. */
    private record SlowMigration(String task, CompletableFuture<FerryCli.Run> migrate) {}

    /** A new running VM on node a, migrating to b at 1 MiB/s: returns once its stream runs. */
    private SlowMigration slowMigration(int vmid) throws Exception {
        Path def = bootblockVm(vmid, 64, 100_000);
        String id = Integer.toString(vmid);
        assertThat(ferry(dir, "vm", "create", "--node", "a", def.toString()).code()).isZero();
        assertThat(ferry(dir, "vm", "start", id).code()).isZero();
        CompletableFuture<FerryCli.Run> migrate = CompletableFuture.supplyAsync(() ->
                ferry(dir, "migrate", id, "b", "--online", "--bwlimit", "1"));
        String task = awaitTaskFile("migrate-a-" + id + "-", migrate);
        awaitStreaming(task);
        return new SlowMigration(task, migrate);
    }

    /** Waits until the task's stream runs (QEMU reports progress). */
    private void awaitStreaming(String task) throws InterruptedException {
        AgentClient agentA = agent("a");
        long deadline = System.nanoTime() + 30_000_000_000L;
        JsonNode t = agentA.get("/api/v1/tasks/" + task);
        while (!t.has("progress") && System.nanoTime() < deadline) {
            assertThat(t.path("status").asText()).isEqualTo("running");
            Thread.sleep(100);
            t = agentA.get("/api/v1/tasks/" + task);
        }
        assertThat(t.path("progress").path("status").asText()).as(t.toString()).isEqualTo("active");
    }

    @Test
    void pauseResumeAndUnlockByHand() throws IOException {
        Path def = bootblockVm(102, 16, 100_000);
        assertThat(ferry(dir, "vm", "create", "--node", "a", def.toString()).code()).isZero();
        assertThat(ferry(dir, "vm", "start", "102").code()).isZero();

        FerryCli.Run r = ferry(dir, "vm", "pause", "102", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.json().path("status").asText()).isEqualTo("paused");
        r = ferry(dir, "vm", "resume", "102");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("VM 102").contains("running");
        assertThat(vmStatus(102).path("status").asText()).isEqualTo("running");

        r = ferry(dir, "vm", "unlock", "102");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("VM 102 is not locked; nothing changed");

        // a lock no journal explains (set by hand, or left by an older Ferry) is simply cleared
        try (ClusterStore s = layout.open()) {
            s.lock(102, "a", "migrate");
        }
        r = ferry(dir, "vm", "unlock", "102");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("lock 'migrate' cleared").contains("VM 102");
        assertThat(vmStatus(102).has("lock")).isFalse();

        // an unfinished migration of a node that is gone: refused, then abandoned with --force
        String orphan = "migrate-gone-102-1700000000000-1";
        try (ClusterStore s = layout.open()) {
            s.lock(102, "a", "migrate");
            s.appendJournal(orphan, VmCommand.JSON.createObjectNode().put("time", 1_700_000_000_000L).put("vmid", 102)
                    .put("source", "gone").put("target", "a").put("phase", "phase1").put("kind", "lock")
                    .put("step", "lock"));
        }
        r = ferry(dir, "vm", "resume", "102");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains(orphan).contains("node 'gone'");
        r = ferry(dir, "vm", "unlock", "102");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains(orphan).contains("does not answer").contains("ferry cluster up").contains("--force");
        assertThat(vmStatus(102).path("lock").asText()).isEqualTo("migrate");

        r = ferry(dir, "vm", "unlock", "102", "--force", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.json().has("lock")).isFalse();
        assertThat(r.json().path("message").asText()).contains(orphan).contains(ABANDONED);
        try (ClusterStore s = layout.open()) {
            assertThat(s.openJournals()).doesNotContain(orphan);
            var last = s.journal(orphan).get(s.journal(orphan).size() - 1);
            assertThat(last.path("kind").asText()).isEqualTo("ended");
            assertThat(last.path("outcome").asText()).isEqualTo(ABANDONED);
            assertThat(last.path("vmid").asInt()).isEqualTo(102);
            assertThat(last.path("source").asText()).isEqualTo("gone");
        }
    }

    @Test
    void aRunningMigrationHoldsItsVmAndClusterDownWaitsForIt() throws Exception {
        SlowMigration slow = slowMigration(103);
        String task = slow.task();
        CompletableFuture<FerryCli.Run> migrate = slow.migrate();

        for (String[] refused : new String[][] {{"vm", "unlock", "103"}, {"vm", "unlock", "103", "--force"},
                {"vm", "pause", "103"}}) {
            FerryCli.Run r = ferry(dir, refused);
            assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
            assertThat(r.err()).contains(task).contains("running on node 'a'").contains("ferry task cancel " + task);
        }
        assertThat(vmStatus(103).path("lock").asText()).isEqualTo("migrate");

        FerryCli.Run list = ferry(dir, "task", "list", "--json");
        assertThat(list.code()).as(list.both()).isZero();
        assertThat(taskIn(list.json(), task).path("status").asText()).isEqualTo("running");
        assertThat(taskIn(list.json(), task).path("target").asText()).isEqualTo("b");
        FerryCli.Run running = ferry(dir, "task", "list", "--running", "--json");
        assertThat(running.code()).as(running.both()).isZero();
        assertThat(running.json()).singleElement().satisfies(t -> assertThat(t.path("id").asText()).isEqualTo(task));
        list = ferry(dir, "task", "list", "--node", "b");
        assertThat(list.code()).as(list.both()).isZero();
        assertThat(list.out()).doesNotContain(task);

        FerryCli.Run down = ferry(dir, "cluster", "down", "--no-wait");
        assertThat(down.code()).as(down.both()).isEqualTo(Main.USAGE);
        assertThat(down.err()).contains("not stopping any agent").contains(task);
        down = ferry(dir, "cluster", "down", "--timeout", "1");
        assertThat(down.code()).as(down.both()).isEqualTo(Main.FAILED);
        assertThat(down.err()).contains("not stopping any agent").contains(task).contains("VM 103, a -> b");

        // the agents of this test run in-process (no pid files): down waits, then finds no agent to stop
        CompletableFuture<FerryCli.Run> waiting = CompletableFuture.supplyAsync(() ->
                ferry(dir, "cluster", "down", "--timeout", "100"));
        Thread.sleep(3000);
        assertThat(waiting).as("cluster down must wait for the migration").isNotDone();
        FerryCli.Run c = ferry(dir, "task", "cancel", task);
        assertThat(c.code()).as(c.both()).isZero();
        FerryCli.Run m = migrate.get(60, TimeUnit.SECONDS);
        assertThat(m.code()).as(m.both()).isEqualTo(Main.FAILED);
        down = waiting.get(60, TimeUnit.SECONDS);
        assertThat(down.code()).as(down.both()).isZero();
        assertThat(down.out()).containsOnlyOnce("waiting for migration task " + task + " (VM 103, a -> b)");

        running = ferry(dir, "task", "list", "--running", "--json");
        assertThat(running.code()).as(running.both()).isZero();
        assertThat(running.json()).as("nothing runs after the cancel").isEmpty();
        list = ferry(dir, "task", "list");
        assertThat(list.code()).as(list.both()).isZero();
        assertThat(list.out().lines().filter(l -> l.startsWith(task))).singleElement().asString()
                .contains("cancelled").contains("ended");
        assertThat(AgentProcess.answers(agent("a"))).isTrue();
    }

    private static JsonNode taskIn(JsonNode tasks, String id) {
        for (JsonNode t : tasks) {
            if (t.path("id").asText().equals(id)) {
                return t;
            }
        }
        throw new AssertionError("task " + id + " not in " + tasks);
    }

    private AgentClient agent(String node) {
        return layout.adminClient(node);
    }

    /** The id of the task whose log file appears in the node's task folder. */
    private String awaitTaskFile(String prefix, CompletableFuture<FerryCli.Run> run) throws Exception {
        Path tasks = layout.taskLog("a", "x").getParent();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (run.isDone()) {
                throw new AssertionError("migrate ended early: " + run.get().both());
            }
            if (Files.isDirectory(tasks)) {
                try (Stream<Path> s = Files.list(tasks)) {
                    Optional<String> id = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(prefix))
                            .map(n -> n.substring(0, n.length() - ".log".length())).findFirst();
                    if (id.isPresent()) {
                        return id.get();
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no task log appeared in " + tasks);
    }
}
