package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.cluster.ClusterStore;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /api/v1/nodes/{node}/evacuate} on a real three-node cluster (bootblock guests in
 * QEMU): node a's agent empties a as a task of its own, one migration at a time, and what it may
 * ask its peers with its node certificate is no more than their running tasks.
 */
@Timeout(120)
class AgentEvacuateTest {
    @TempDir
    Path dir;

    private static AgentClient.AgentException refusal(Runnable call) {
        try {
            call.run();
        } catch (AgentClient.AgentException e) {
            return e;
        }
        throw new AssertionError("not refused");
    }

    private static boolean maintenance(LocalCluster c, String node) {
        try (ClusterStore s = c.layout.open()) {
            return s.currentConfig().node(node).orElseThrow().maintenance();
        }
    }

    @Test
    void theAgentOfANodeEmptiesItAsATaskOneAtATime() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b", "c")) {
            AgentClient a = c.defineOnA(101, "one", AgentMetricsTest.CALM);
            c.defineOnA(102, "two", AgentMetricsTest.CALM);
            c.defineOnA(103, "cold", AgentMetricsTest.CALM);
            a.post("/api/v1/vms/101/start", null);
            a.post("/api/v1/vms/102/start", null);

            // bad input and the wrong agent change nothing
            AgentClient.AgentException e = refusal(() -> a.post("/api/v1/nodes/a/evacuate", Map.of("paralel", 1)));
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.getMessage()).contains("unknown field 'paralel'").contains("parallel");
            e = refusal(() -> a.post("/api/v1/nodes/a/evacuate", Map.of("to", List.of("a"))));
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.getMessage()).contains("'to' names node 'a', the node being evacuated");
            e = refusal(() -> a.post("/api/v1/nodes/a/evacuate", Map.of("policy", "fastest")));
            assertThat(e.status()).isEqualTo(400);
            e = refusal(() -> c.client("b").post("/api/v1/nodes/a/evacuate", Map.of()));
            assertThat(e.status()).isEqualTo(409);
            assertThat(e.getMessage()).contains("node 'a' is evacuated by its own agent").contains(c.address("a"));
            assertThat(refusal(() -> a.post("/api/v1/nodes/zz/evacuate", Map.of())).status()).isEqualTo(404);
            assertThat(maintenance(c, "a")).as("maintenance after refusals").isFalse();

            JsonNode task = a.post("/api/v1/nodes/a/evacuate", Map.of("to", List.of("b", "c"), "parallel", 1));
            String id = task.path("id").asText();
            assertThat(id).startsWith("evacuate-a-");
            assertThat(task.path("kind").asText()).isEqualTo("evacuation");
            assertThat(maintenance(c, "a")).as("maintenance is set before anything moves").isTrue();
            JsonNode done = c.await("a", id, Duration.ofSeconds(90));

            assertThat(done.path("status").asText()).as(done.toString()).isEqualTo("completed");
            JsonNode result = done.path("result");
            assertThat(result.path("moved").asInt()).isEqualTo(2);
            assertThat(result.path("skipped").asInt()).isEqualTo(1);
            assertThat(result.path("parallel").asInt()).isEqualTo(1);
            Map<Integer, JsonNode> byVm = new TreeMap<>();
            result.path("vms").forEach(v -> byVm.put(v.path("vmid").asInt(), v));
            assertThat(byVm.keySet()).containsExactly(101, 102, 103);
            assertThat(byVm.get(103).path("outcome").asText()).isEqualTo("skipped");
            for (int vmid : List.of(101, 102)) {
                JsonNode row = byVm.get(vmid);
                assertThat(row.path("outcome").asText()).as(row.toString()).isEqualTo("completed");
                assertThat(row.path("target").asText()).isIn("b", "c");
                assertThat(row.path("downtime_ms").isNumber()).as(row.toString()).isTrue();
                assertThat(row.path("duration_ms").asLong()).isPositive();
                // the agent planned each target in-process, as its plan route would answer
                assertThat(row.path("placement").asText()).as(row.toString()).startsWith("plan (budget, budget:");
                assertThat(row.path("refusals")).as(row.toString()).isEmpty();
                // the VM is where the row says, and running there
                JsonNode vm = c.client(row.path("target").asText()).get("/api/v1/vms/" + vmid);
                assertThat(vm.path("owner").asText()).isEqualTo(row.path("target").asText());
                assertThat(vm.path("status").asText()).isEqualTo("running");
                // its migration was an ordinary task of a, which a still answers for
                JsonNode migration = a.get("/api/v1/tasks/" + row.path("task").asText());
                assertThat(migration.path("status").asText()).isEqualTo("completed");
            }
            // --parallel 1: the second migration started only after the first ended
            List<JsonNode> moved = new ArrayList<>(List.of(byVm.get(101), byVm.get(102)));
            moved.sort((x, y) -> Long.compare(x.path("started_at").asLong(), y.path("started_at").asLong()));
            assertThat(moved.get(1).path("started_at").asLong()).isGreaterThanOrEqualTo(
                    moved.get(0).path("ended_at").asLong());
            // the log has a line per VM, and the same summary reads again later
            List<String> lines = new ArrayList<>();
            a.get("/api/v1/tasks/" + id + "/log?from=0").path("lines").forEach(l -> lines.add(l.asText()));
            assertThat(lines).anyMatch(l -> l.contains("VM 101 -> ") && l.contains("completed"))
                    .anyMatch(l -> l.contains("VM 102 -> ") && l.contains("completed"))
                    .anyMatch(l -> l.contains("in maintenance; 2 VM(s) to move"))
                    .anyMatch(l -> l.contains("VM 101: targets in order ") && l.contains("b: plan (budget")
                            && l.contains("c: plan (budget"));
            assertThat(maintenance(c, "a")).as("a stays in maintenance").isTrue();

            // a VM cannot come back while a is in maintenance; resume lets it
            String home = byVm.get(101).path("target").asText();
            e = refusal(() -> c.client(home).post("/api/v1/migrations", Map.of("vmid", 101, "target", "a", "online", true)));
            assertThat(e.getMessage()).contains("maintenance");
            JsonNode resumed = c.client("b").post("/api/v1/nodes/a/resume", null);
            assertThat(resumed.path("maintenance").asBoolean()).isFalse();
            assertThat(maintenance(c, "a")).isFalse();
        }
    }

    @Test
    void aCancelledEvacuationStartsNoFurtherVmAndSaysSo() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            AgentClient a = c.defineOnA(111, "first", AgentMetricsTest.CALM);
            c.defineOnA(112, "second", AgentMetricsTest.CALM);
            a.post("/api/v1/vms/111/start", null);
            a.post("/api/v1/vms/112/start", null);
            // one at a time, 128 MiB at 8 MiB/s: the first takes seconds, the cancel comes in milliseconds
            String id = a.post("/api/v1/nodes/a/evacuate", Map.of("parallel", 1, "bwlimit", 8, "allow_postcopy", true))
                    .path("id").asText();
            assertThat(a.get("/api/v1/node").path("evacuation").asText()).isEqualTo(id);
            AgentClient.AgentException again = refusal(() -> a.post("/api/v1/nodes/a/evacuate", Map.of()));
            assertThat(again.status()).isEqualTo(409);
            assertThat(again.getMessage()).contains("already being evacuated by task " + id);
            a.post("/api/v1/tasks/" + id + "/cancel", null);
            JsonNode done = c.await("a", id, Duration.ofSeconds(90));

            assertThat(done.path("status").asText()).as(done.toString()).isEqualTo("failed");
            List<String> outcomes = new ArrayList<>();
            for (JsonNode row : done.path("result").path("vms")) {
                outcomes.add(row.path("outcome").asText());
                if (row.path("outcome").asText().equals("not-started")) {
                    assertThat(row.path("error").asText()).contains("run it again");
                    int vmid = row.path("vmid").asInt();
                    assertThat(a.get("/api/v1/vms/" + vmid).path("owner").asText()).isEqualTo("a");
                    assertThat(a.get("/api/v1/vms/" + vmid).path("status").asText()).isEqualTo("running");
                }
            }
            System.out.println("cancelled evacuation: " + outcomes);
            assertThat(outcomes).hasSize(2).contains("not-started").allMatch(o -> o.equals("completed")
                    || o.equals("not-started"));
            assertThat(a.get("/api/v1/tasks/" + id + "/log?from=0").path("lines").toString())
                    .contains("no further VM will be started");
            assertThat(a.get("/api/v1/node").has("evacuation")).isFalse();
        }
    }

    @Test
    void aNodeCertificateMayReadItsPeersRunningTasksAndNothingMoreOfTheEvacuation() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            AgentClient b = new AgentClient(c.address("a"), AgentCredentials.node(c.layout.dir(), "b"));
            assertThat(b.get("/api/v1/tasks?status=running").isArray()).isTrue();
            assertThat(refusal(() -> b.get("/api/v1/tasks")).status()).as("the whole history").isEqualTo(403);
            assertThat(refusal(() -> b.get("/api/v1/tasks?status=ended")).status()).isEqualTo(403);
            AgentClient.AgentException e = refusal(() -> b.post("/api/v1/nodes/a/evacuate", Map.of()));
            assertThat(e.status()).isEqualTo(403);
            assertThat(e.getMessage()).contains("refuses POST /api/v1/nodes/{node}/evacuate");
            assertThat(refusal(() -> b.post("/api/v1/nodes/b/evacuate", Map.of())).status()).isEqualTo(403);
            assertThat(refusal(() -> b.post("/api/v1/nodes/a/resume", null)).status()).isEqualTo(403);
            assertThat(refusal(() -> b.post("/api/v1/tasks/evacuate-a-1-1/cancel", null)).status()).isEqualTo(403);
            assertThat(maintenance(c, "a")).isFalse();
        }
    }
}
