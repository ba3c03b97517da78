package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.Agent;
import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import ferry.node.LocalNode;
import ferry.node.QemuBinary;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry migrate} whose source agent dies mid-migration: the CLI waits for the agent to
 * come back and follows the task its recovery resolves (same id) to the end. Agent a runs as a
 * process of its own, so that it can be killed; agent b runs in this process.
 */
@Timeout(240)
class AgentRestartCliTest {
    private static final int VMID = 110;

    @TempDir
    Path tmp;

    @Test
    void migrateFollowsTheRecoveredTaskWhenTheSourceAgentIsKilledAndStartedAgain() throws Exception {
        Path dir = tmp.resolve("c");
        FerryCli.Run created = ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port",
                Integer.toString(FerryCli.twoFreePorts()));
        assertThat(created.code()).as(created.both()).isZero();
        ClusterLayout layout = new ClusterLayout(dir);
        AgentClient agentA = AgentProcess.client(layout, "a");
        AgentProcess a = AgentProcess.start(layout, "a", List.of(), Duration.ofSeconds(60));
        Agent b = Agent.start(dir, "b");
        try {
            Path def = FerryCli.bootblockVm(dir, tmp, VMID, 64, 100_000);
            assertThat(ferry(dir, "vm", "create", "--node", "a", def.toString()).code()).isZero();
            assertThat(ferry(dir, "vm", "start", Integer.toString(VMID)).code()).isZero();
            CompletableFuture<FerryCli.Run> migrate = CompletableFuture.supplyAsync(() -> ferry(dir, "migrate",
                    Integer.toString(VMID), "b", "--online", "--bwlimit", "1", "--reconnect-wait", "90"));
            String task = awaitStreaming(agentA, migrate);

            a.kill();
            Thread.sleep(3000);
            assertThat(migrate).as("migrate must wait for the agent, not fail").isNotDone();
            a = AgentProcess.start(layout, "a", List.of(), Duration.ofSeconds(60));

            FerryCli.Run r = migrate.get(150, TimeUnit.SECONDS);
            JsonNode recovered = agentA.get("/api/v1/tasks/" + task);
            assertThat(recovered.path("status").asText()).as(recovered.toString()).isNotEqualTo("running");
            assertThat(r.code()).as(r.both()).isEqualTo(TaskFollower.exitCode(recovered));
            assertThat(r.err()).contains("lost contact with the agent of node a")
                    .contains("the agent of node a answers again; following task " + task)
                    .doesNotContain("does not answer");
            assertThat(r.out()).contains("recovered after restart: task " + task);
            assertThat(layout.agentLog("a")).as("the agent's log, over two starts").content()
                    .contains("listens on https://").doesNotContain("PRIVATE KEY");
        } finally {
            a.stop(Duration.ofSeconds(60)); // a stop signal: the agent ends its tasks first
            b.close();
            stopQemus(layout);
        }
    }

    /** The migration task of the VM once its stream runs. */
    private static String awaitStreaming(AgentClient agentA, CompletableFuture<FerryCli.Run> migrate)
            throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (migrate.isDone()) {
                throw new AssertionError("migrate ended early: " + migrate.get().both());
            }
            for (JsonNode t : agentA.get("/api/v1/tasks")) {
                if (t.path("vmid").asInt() == VMID && t.path("status").asText().equals("running")
                        && agentA.get("/api/v1/tasks/" + t.path("id").asText()).has("progress")) {
                    return t.path("id").asText();
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the migration of VM " + VMID + " did not start streaming");
    }

    private static void stopQemus(ClusterLayout layout) throws InterruptedException {
        QemuBinary qemu = QemuBinary.find();
        for (String node : List.of("a", "b")) {
            try {
                new LocalNode(node, qemu, layout.storages(node), layout.runRoot(node)).stop(VMID, Duration.ofSeconds(5));
            } catch (RuntimeException ignored) {
                // asserted below
            }
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!FerryCli.qemusUnder(layout.dir()).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(FerryCli.qemusUnder(layout.dir())).as("QEMUs left running").isEmpty();
    }
}
