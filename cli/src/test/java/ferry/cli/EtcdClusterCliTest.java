package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.ClusterLayout;
import ferry.testkit.etcd.EtcdServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster whose records live in a real etcd, through the CLI: created with {@code --store},
 * agents as processes with a 3 s lease, a live migration, and {@code cluster status} seeing a
 * killed agent's node go down and come back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class EtcdClusterCliTest {
    private static final List<String> AGENT_JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx192m",
            "-Dferry.leaseTtl=3");

    @TempDir
    static Path tmp;

    private EtcdServer etcd;
    private Path dir;
    private ClusterLayout layout;
    private final Map<String, AgentProcess> agents = new LinkedHashMap<>();

    @BeforeAll
    void createClusterOnEtcdAndStartAgents() throws Exception {
        String why = EtcdServer.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "etcd unavailable: " + why);
        etcd = EtcdServer.startOnLoopback(tmp.resolve("etcd"));
        dir = tmp.resolve("c");
        int port = FerryCli.twoFreePorts();
        FerryCli.Run r = ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port", Integer.toString(port),
                "--store", etcd.storeAddress(), "--name", "onetcd");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("records: etcd " + etcd.storeAddress());
        assertThat(dir.resolve("store.json")).exists();
        assertThat(dir.resolve("cluster.json")).as("the records are in etcd, not in the folder").doesNotExist();
        layout = new ClusterLayout(dir);
        for (String n : List.of("a", "b")) {
            agents.put(n, AgentProcess.start(layout, n, AGENT_JVM, Duration.ofSeconds(60)));
        }
    }

    @AfterAll
    void stopEverything() throws Exception {
        for (AgentProcess p : agents.values()) {
            if (!p.stop(Duration.ofSeconds(30))) {
                p.kill();
            }
        }
        FerryCli.qemusUnder(tmp).forEach(ProcessHandle::destroyForcibly);
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void aLiveMigrationOnTheEtcdStoreAndNodeLivenessInClusterStatus() throws Exception {
        Path def = FerryCli.bootblockVm(dir, tmp, 100, 16, 100_000);
        FerryCli.Run created = ferry(dir, "vm", "create", "--node", "a", def.toString());
        assertThat(created.code()).as(created.both()).isZero();
        FerryCli.Run started = ferry(dir, "vm", "start", "100");
        assertThat(started.code()).as(started.both()).isZero();
        FerryCli.Run m = ferry(dir, "migrate", "100", "b", "--online", "--json");
        assertThat(m.code()).as(m.both()).isZero();
        assertThat(m.json().path("status").asText()).isEqualTo("completed");
        JsonNode vm = ferry(dir, "vm", "status", "100", "--json").json();
        assertThat(vm.path("owner").asText()).isEqualTo("b");
        assertThat(vm.has("lock")).as(vm.toString()).isFalse();

        JsonNode status = statusJson(0);
        assertThat(status.path("store").asText()).isEqualTo("etcd " + etcd.storeAddress());
        assertThat(status.path("nodes")).allSatisfy(n -> assertThat(n.path("alive").asBoolean()).isTrue());

        agents.remove("b").kill(); // kill -9: nobody gives its lease up
        long killed = System.nanoTime();
        JsonNode down;
        do {
            Thread.sleep(200);
            down = statusJson(1);
            assertThat(Duration.ofNanos(System.nanoTime() - killed)).as("b's lease lapses").isLessThan(Duration.ofSeconds(30));
        } while (down.path("nodes").get(1).path("alive").asBoolean());
        assertThat(down.path("nodes").get(1).path("answers").asBoolean()).isFalse();
        FerryCli.Run text = ferry(dir, "cluster", "status");
        assertThat(text.code()).isEqualTo(Main.FAILED);
        assertThat(text.out()).containsPattern("node b .*DOWN .*LAPSED");

        agents.put("b", AgentProcess.start(layout, "b", AGENT_JVM, Duration.ofSeconds(60)));
        assertThat(statusJson(0).path("nodes").get(1).path("alive").asBoolean()).isTrue();
        assertThat(ferry(dir, "vm", "stop", "100").code()).isZero();
    }

    @Test
    void aBadStoreOrAddressIsRefusedAndCreatesNothing() {
        Path other = tmp.resolve("other");
        FerryCli.Run r = ferry("cluster", "create", other.toString(), "--nodes", "a,b", "--store", "zookeeper://x:1");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("etcd://HOST:PORT");
        r = ferry("cluster", "create", other.toString(), "--nodes", "a,b", "--address", "c=10.0.0.3");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("node 'c'");
        assertThat(Files.exists(other)).isFalse();
        r = ferry("cluster", "create", other.toString(), "--nodes", "a,b", "--store", etcd.storeAddress(), "--name", "onetcd");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("already holds a cluster named 'onetcd'");
        assertThat(other.resolve("store.json")).doesNotExist();
    }

    private JsonNode statusJson(int expectedCode) {
        FerryCli.Run r = ferry(dir, "cluster", "status", "--json");
        assertThat(r.code()).as(r.both()).isEqualTo(expectedCode);
        return r.json();
    }
}
