package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.Agent;
import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.testkit.Qemu72;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster whose node 'old' runs Debian's QEMU 7.2 and 'new' the installed 10.0, through the CLI:
 * set-qemu, doctor --node, cluster status, a live migration 7.2 -> 10.0 and back, the refusal of an
 * option 7.2 lacks, and the upgrade path: the 7.2 node evacuated onto the 10.0 one.
 */
@Timeout(180)
class MixedQemuCliTest {
    @TempDir
    Path tmp;

    @Test
    void aNodeOnQemu72() throws Exception {
        QemuBinary q72;
        try {
            q72 = Qemu72.provide();
        } catch (NodeException e) {
            System.out.println("MixedQemuCliTest skipped: " + e.getMessage());
            Assumptions.abort(e.getMessage());
            return;
        }
        Path dir = tmp.resolve("c");
        int port = FerryCli.twoFreePorts();
        assertThat(ferry("cluster", "create", dir.toString(), "--nodes", "old,new", "--port", Integer.toString(port))
                .code()).isZero();
        byte[] before = Files.readAllBytes(dir.resolve("cluster.json"));

        FerryCli.Run r = ferry(dir, "cluster", "set-qemu", "old", "--binary", tmp.resolve("no-qemu").toString());
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("node 'old'").contains("no-qemu").contains("nothing changed");
        assertThat(Files.readAllBytes(dir.resolve("cluster.json"))).isEqualTo(before);

        List<String> args = new ArrayList<>(List.of("cluster", "set-qemu", "old", "--binary", q72.path().toString(),
                "--module-dir", q72.moduleDir().toString()));
        q72.dataDirs().forEach(d -> args.addAll(List.of("--data-dir", d.toString())));
        r = ferry(dir, args.toArray(String[]::new));
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("QEMU " + q72.version());

        r = ferry(dir, "doctor", "--node", "old", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        JsonNode doc = r.json();
        assertThat(doc.path("qemu").path("version").asText()).startsWith("7.2.");
        assertThat(doc.path("qemu").path("module_dir").asText()).isEqualTo(q72.moduleDir().toString());
        assertThat(doc.path("binding").path("commands").path("missing").toString()).contains("block-job-change");
        assertThat(doc.path("binding").path("differences_recorded_for").asText()).isEqualTo("7.2");
        assertThat(doc.path("lacks").toString()).contains("migration capability 'switchover-ack' is not available")
                .contains("migration parameter 'avail-switchover-bandwidth' is not available");

        Agent old = Agent.start(dir, "old");
        Agent neu = Agent.start(dir, "new");
        try {
            r = ferry(dir, "cluster", "status", "--json");
            assertThat(r.code()).as(r.both()).isZero();
            assertThat(r.json().path("nodes").get(0).path("qemu").path("version").asText()).isEqualTo(q72.version());
            assertThat(r.json().path("nodes").get(0).path("qemu").path("own_installation").asBoolean()).isTrue();
            assertThat(r.json().path("nodes").get(1).path("qemu").path("version").asText())
                    .isEqualTo(QemuBinary.find().version());

            Path def = FerryCli.bootblockVm(dir, tmp, 100, 16, 100_000);
            assertThat(ferry(dir, "vm", "create", "--node", "old", def.toString()).code()).isZero();
            assertThat(ferry(dir, "vm", "start", "100").code()).isZero();
            r = ferry(dir, "migrate", "100", "new", "--online", "--zero-page-detection", "legacy");
            assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
            assertThat(r.err()).contains("QEMU " + q72.version() + " on node 'old' lacks migration parameter "
                    + "'zero-page-detection'");
            r = ferry(dir, "migrate", "100", "new", "--online", "--json");
            assertThat(r.code()).as(r.both()).isZero();
            assertThat(r.json().path("status").asText()).isEqualTo("completed");
            assertThat(String.join("\n", r.json().path("log").toString())).contains("pinned machine type 'pc-i440fx-7.2'");

            // back to 7.2: the VM still runs pc-i440fx-7.2, which 7.2 has
            r = ferry(dir, "migrate", "100", "old", "--online", "--json");
            assertThat(r.code()).as(r.both()).isZero();
            assertThat(r.json().path("status").asText()).isEqualTo("completed");

            // the upgrade path: empty the 7.2 node onto the 10.0 one, then it may be upgraded
            r = ferry(dir, "node", "evacuate", "old", "--to", "new", "--json");
            assertThat(r.code()).as(r.both()).isZero();
            JsonNode moved = r.json().path("vms").get(0);
            assertThat(moved.path("vmid").asInt()).isEqualTo(100);
            assertThat(moved.path("target").asText()).isEqualTo("new");
            assertThat(moved.path("outcome").asText()).isEqualTo("completed");
            try (ClusterStore s = new ClusterLayout(dir).open()) {
                assertThat(s.vm(100).orElseThrow().owner()).isEqualTo("new");
                assertThat(s.currentConfig().node("old").orElseThrow().maintenance()).isTrue();
            }
            assertThat(ferry(dir, "node", "resume", "old").code()).isZero();
            assertThat(ferry(dir, "vm", "stop", "100").code()).isZero();
        } finally {
            neu.close();
            old.close();
            try (ClusterStore s = new ClusterLayout(dir).open()) {
                assertThat(s.vm(100).orElseThrow().lock()).isNull();
            }
            assertThat(FerryCli.qemusUnder(dir)).isEmpty();
        }
    }
}
