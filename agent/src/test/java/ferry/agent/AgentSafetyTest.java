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

class AgentSafetyTest {
    @TempDir
    Path dir;

    private static void bootblockOn(LocalCluster c, String node) throws Exception {
        BootblockGuest guest = new BootblockGuest(128, Bootblock.REGION_START + (64L << 20), 100_000);
        Files.copy(Bootblock.image(BootblockGuest.cacheDir(), guest.regionEnd(), guest.delay()),
                c.layout.storages(node).get("shared").path().resolve("vm-100-disk-0.raw"));
        AgentClient a = c.client(node);
        a.post("/api/v1/vms", new VmDefinition(100, "bb", 128, 1, null, null, null,
                List.of(new VmDefinition.Disk("shared", "vm-100-disk-0.raw", "raw", "ide")), null, null));
        a.post("/api/v1/vms/100/start", null);
    }

    @Test
    void unreachableTargetAgentIsRefusedAtPrepare() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            bootblockOn(c, "a");
            c.agents.remove("b").close();
            Throwable e = catchThrowable(() -> c.client("a").migrate(new ObjectMapper().createObjectNode()
                    .put("vmid", 100).put("target", "b").put("online", true)));
            assertThat(e).isInstanceOf(AgentClient.AgentException.class)
                    .hasMessageContaining("target node 'b' does not answer");
            assertThat(((AgentClient.AgentException) e).status()).isEqualTo(409);
            JsonNode vm = c.client("a").get("/api/v1/vms/100");
            assertThat(vm.path("status").asText()).isEqualTo("running");
            assertThat(vm.has("lock")).isFalse();
        }
    }

    /** Stopping an agent while it migrates waits for the migration's end (here: a cancel), as the seed defers signals. */
    @Test
    void stoppingTheAgentWaitsForTheRunningMigration() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            bootblockOn(c, "a");
            AgentClient a = c.client("a");
            JsonNode task = a.migrate(new ObjectMapper().createObjectNode().put("vmid", 100).put("target", "b")
                    .put("online", true).put("bwlimit", 1));
            String id = task.path("id").asText();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (!a.get("/api/v1/tasks/" + id).has("progress")) {
                assertThat(System.nanoTime()).as("migration becomes active").isLessThan(deadline);
                Thread.sleep(100);
            }
            Agent agentA = c.agents.remove("a");
            Thread stopper = Thread.ofPlatform().start(agentA::close);
            stopper.join(1500);
            assertThat(stopper.isAlive()).as("the agent waits for its migration").isTrue();
            a.post("/api/v1/tasks/" + id + "/cancel", null);
            stopper.join(60_000);
            assertThat(stopper.isAlive()).isFalse();
            assertThat(c.layout.taskLog("a", id)).content().contains("agent is stopping").contains("migrate_cancel");
            try (var store = c.layout.open()) {
                assertThat(store.vm(100).orElseThrow().owner()).isEqualTo("a");
                assertThat(store.vm(100).orElseThrow().lock()).isNull();
            }
        }
    }
}
