package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.Agent;
import ferry.agent.AgentClient;
import ferry.agent.ClusterLayout;
import ferry.node.HostMemory;
import ferry.qapi.QapiJson;
import ferry.agent.JsonKeys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ferry node evacuate} on a real three-node cluster (agents in this process, bootblock
 * guests in QEMU): node a is emptied onto b and c two at a time, one VM that fits on no target
 * fails alone, a second run moves what is left, and maintenance keeps migrations away from a
 * until {@code ferry node resume a}.
 */
@Timeout(180)
class EvacuateCliTest {
    private static final List<Integer> VMIDS = List.of(101, 102, 103, 104, 105, 106);

    @TempDir
    Path tmp;

    private Path dir;
    private ClusterLayout layout;
    private final List<Agent> agents = new ArrayList<>();

    @AfterEach
    void stopEverything() throws InterruptedException {
        agents.forEach(Agent::close); // they hold the VMs' QMP connections: close them before stopping QEMUs
        if (layout == null) {
            return;
        }
        FerryCli.stopQemus(layout, dir, List.of("a", "b", "c"), VMIDS);
    }

    /** A bootblock VM of {@code memoryMiB} on the shared storage, defined on a (and started if {@code start}). */
    private void vmOnA(int vmid, int memoryMiB, boolean start) throws Exception {
        Path def = FerryCli.bootblockVm(dir, tmp, vmid, 16, 100_000);
        Files.writeString(def, Files.readString(def).replace("\"memory\":128", "\"memory\":" + memoryMiB));
        FerryCli.Run r = ferry(dir, "vm", "create", "--node", "a", def.toString());
        assertThat(r.code()).as(r.both()).isZero();
        if (start) {
            r = ferry(dir, "vm", "start", Integer.toString(vmid));
            assertThat(r.code()).as(r.both()).isZero();
        }
    }

    /** The running VMs {@code running} (vmid to MiB), side by side, and one stopped 128 MiB VM. */
    private void vmsOnA(Map<Integer, Integer> running, int stopped) throws Exception {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        running.forEach((vmid, mib) -> all.add(CompletableFuture.runAsync(() -> {
            try {
                vmOnA(vmid, mib, true);
            } catch (Exception e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        })));
        vmOnA(stopped, 128, false);
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    }

    private JsonNode vmStatus(int vmid) {
        FerryCli.Run r = ferry(dir, "vm", "status", Integer.toString(vmid), "--json");
        assertThat(r.code()).as(r.both()).isZero();
        return r.json();
    }

    private JsonNode nodeStatus(String node) {
        FerryCli.Run r = ferry(dir, "cluster", "status", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        for (JsonNode n : r.json().path("nodes")) {
            if (n.path("name").asText().equals(node)) {
                return n;
            }
        }
        throw new AssertionError("no node " + node + " in " + r.out());
    }

    /** Most VMs of node a the evacuation had in flight at once, from the start and end times it reports. */
    private static int mostAtOnce(JsonNode vms) {
        TreeMap<Long, Integer> steps = new TreeMap<>();
        for (JsonNode v : vms) {
            if (v.hasNonNull("started_at")) {
                steps.merge(v.path("started_at").asLong(), 1, Integer::sum);
                steps.merge(v.path("ended_at").asLong(), -1, Integer::sum);
            }
        }
        int now = 0;
        int most = 0;
        for (int d : steps.values()) {
            now += d;
            most = Math.max(most, now);
        }
        return most;
    }

    /**
     * A cluster a, b, c whose agents run here; b gives VMs about 1 GiB of this host, c about 6 GiB
     * (their agents hold the rest back): margins of 2 GiB either way for what other work on the
     * host takes or frees meanwhile.
     */
    private void startCluster() throws Exception {
        dir = tmp.resolve("c");
        int port = FerryCli.freePorts(3);
        FerryCli.Run r = ferry("cluster", "create", dir.toString(), "--nodes", "a,b,c", "--port", Integer.toString(port));
        assertThat(r.code()).as(r.both()).isZero();
        layout = new ClusterLayout(dir);
        long available = HostMemory.now().availableBytes();
        agents.add(Agent.start(dir, "a"));
        agents.add(Agent.start(dir, "b", Agent.DEFAULT_LEASE_TTL, available - (1L << 30)));
        agents.add(Agent.start(dir, "c", Agent.DEFAULT_LEASE_TTL, available - (6L << 30)));
    }

    @Test
    void evacuatesTwoAtATimeAFailureStopsNothingAndMaintenanceHoldsUntilResume() throws Exception {
        startCluster();
        // b's 1 GiB and c's 6 GiB are enough for the 128 MiB guests, not for the big one (half the
        // host's RAM, at least 8 GiB), which every target's prepare must refuse however much other
        // work frees meanwhile; the 3 GiB one fits on c only, and its plan for b says so first
        int bigMiB = (int) Math.max(8192, (HostMemory.now().totalBytes() >> 20) / 2);
        // QEMU takes the guest's RAM as it is touched: the big ones run on a with a few MiB
        vmsOnA(Map.of(101, 128, 102, 128, 103, 128, 104, bigMiB, 106, 3072), 105);

        // bad usage changes nothing
        FerryCli.Run r = ferry(dir, "node", "evacuate", "a", "--to", "a");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("--to names node 'a', the node being evacuated");
        r = ferry(dir, "node", "maintenance", "zz");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("unknown node 'zz'");
        assertThat(nodeStatus("a").path("maintenance").asBoolean()).isFalse();
        assertThat(nodeStatus("c").path("mem_for_vms_bytes").asLong()).as("c's memory less its agent's reserve")
                .isBetween(4L << 30, 8L << 30);

        // the agents' own view, sampled while the evacuation runs: never more than 2 of a's tasks at once
        Map<String, AgentClient> clients = new TreeMap<>();
        for (String n : List.of("a", "b", "c")) {
            clients.put(n, layout.adminClient(n));
        }
        AtomicInteger mostSeen = new AtomicInteger();
        AtomicBoolean sampling = new AtomicBoolean(true);
        Thread sampler = new Thread(() -> {
            while (sampling.get()) {
                int running = 0;
                for (AgentClient c : clients.values()) {
                    running += c.get("/api/v1/tasks?status=running").size();
                }
                mostSeen.accumulateAndGet(running, Math::max);
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        sampler.start();
        long t0 = System.nanoTime();
        r = ferry(dir, "node", "evacuate", "a", "--to", "b,c", "--parallel", "2", "--json");
        long firstRunMs = (System.nanoTime() - t0) / 1_000_000;
        sampling.set(false);
        sampler.join();
        System.out.println("evacuate, first run (" + firstRunMs + " ms):\n" + r.out() + "\nprogress:\n" + r.err());
        assertThat(r.code()).as("VM 104 did not move: " + r.both()).isEqualTo(Main.FAILED);
        JsonNode report = r.json();
        assertThat(report.path("moved").asInt()).as(r.both()).isEqualTo(4);
        assertThat(report.path("failed").asInt()).isEqualTo(1);
        assertThat(report.path("skipped").asInt()).isEqualTo(1);
        Map<Integer, JsonNode> byVm = new TreeMap<>();
        report.path("vms").forEach(v -> byVm.put(v.path("vmid").asInt(), v));
        assertThat(byVm.keySet()).containsExactly(101, 102, 103, 104, 105, 106);
        for (int vmid : List.of(101, 102, 103, 106)) {
            JsonNode v = byVm.get(vmid);
            assertThat(v.path("outcome").asText()).as(v.toString()).isEqualTo("completed");
            assertThat(v.path("target").asText()).isIn("b", "c");
            // its target was chosen by the plan of the policy it ran with (here the default, budget)
            assertThat(v.path("placement").asText()).as(v.toString()).startsWith("plan (budget, budget:");
            assertThat(v.path("duration_ms").asLong()).isPositive();
            assertThat(v.path("downtime_ms").isNumber()).as(v.toString()).isTrue();
            JsonNode st = vmStatus(vmid);
            assertThat(st.path("owner").asText()).isEqualTo(v.path("target").asText());
            assertThat(st.path("status").asText()).isEqualTo("running");
            assertThat(st.has("lock")).isFalse();
        }
        // the plan for b refused the 3 GiB VM before anything was tried: the row says so
        JsonNode mid = byVm.get(106);
        assertThat(mid.path("target").asText()).as(mid.toString()).isEqualTo("c");
        assertThat(mid.path("refusals")).as(mid.toString()).hasSize(1);
        assertThat(mid.path("refusals").path(0).path("node").asText()).isEqualTo("b");
        assertThat(mid.path("refusals").path(0).path("reason").asText()).contains("target node 'b' has")
                .contains("VM 106 needs ");
        assertThat(r.err().lines().filter(l -> l.contains("\"event\":\"planned\"") && l.contains("\"vmid\":106")))
                .singleElement().asString().contains("\"refusal\":\"target node 'b' has");
        JsonNode big = byVm.get(104);
        assertThat(big.path("outcome").asText()).isEqualTo("refused");
        assertThat(big.path("error").asText()).as("both targets' prepare refused it for memory")
                .contains("b: target node 'b' has").contains("c: target node 'c' has").contains("VM 104 needs ").contains("free memory there");
        assertThat(vmStatus(104).path("owner").asText()).isEqualTo("a");
        assertThat(vmStatus(104).path("status").asText()).isEqualTo("running");
        assertThat(byVm.get(105).path("outcome").asText()).isEqualTo("skipped");
        // at most 2 at a time, by the evacuation's own times and by the agents' task lists; and 2 did run together
        assertThat(mostAtOnce(report.path("vms"))).isEqualTo(2);
        System.out.println("most migration tasks the agents ran at once: " + mostSeen.get());
        assertThat(mostSeen.get()).isBetween(1, 2);
        assertThat(r.err().lines().filter(l -> l.contains("\"event\":\"started\""))).hasSize(4);
        assertThat(JsonKeys.notSnakeCase(report)).isEmpty();
        assertThat(r.err().lines()).allSatisfy(l ->
                assertThat(JsonKeys.notSnakeCase(QapiJson.mapper().readTree(l))).as(l).isEmpty());

        // a stays in maintenance: shown, and a migration to it is refused without changing anything
        assertThat(nodeStatus("a").path("maintenance").asBoolean()).isTrue();
        r = ferry(dir, "cluster", "status");
        assertThat(r.out()).containsPattern("node a .*MAINTENANCE");
        String back = byVm.get(101).path("target").asText();
        r = ferry(dir, "migrate", "101", "a", "--online");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("target node 'a' is in maintenance").contains("ferry node resume a");
        assertThat(vmStatus(101).path("owner").asText()).isEqualTo(back);
        assertThat(vmStatus(101).has("lock")).isFalse();

        // resume: migrations may go to a again
        r = ferry(dir, "node", "resume", "a", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.json().path("maintenance").asBoolean()).isFalse();
        assertThat(nodeStatus("a").path("maintenance").asBoolean()).isFalse();

        // the same core run by a's agent (as the web UI starts it); its task is followed like a migration's
        String id = layout.adminClient("a").post("/api/v1/nodes/a/evacuate", java.util.Map.of("to", List.of("b", "c")))
                .path("id").asText();
        r = ferry(dir, "task", "log", id);
        assertThat(r.code()).as(r.both()).isEqualTo(Main.FAILED);
        assertThat(r.out()).contains("VM 104: refused").contains("evacuation of node a ended: failed");
        assertThat(ferry(dir, "node", "resume", "a").code()).isZero();
    }

    /**
     * An evacuation stopped mid-way (its thread interrupted, as when the person's terminal goes
     * away) and run again: the VM whose migration was under way is waited for, not migrated twice,
     * and the rest move. About 20 s: tagged long so that evacuation's share of the default suite
     * (the test above, about 45 s on a loaded host) stays under a minute; scripts/test-long runs it.
     */
    @Test
    @Tag("long")
    void aSecondRunContinuesWhereTheFirstStopped() throws Exception {
        startCluster();
        vmsOnA(Map.of(101, 128, 102, 128, 103, 128), 105);
        AgentClient agentA = layout.adminClient("a");
        CompletableFuture<FerryCli.Run> first = new CompletableFuture<>();
        Thread firstRun = new Thread(() -> first.complete(
                ferry(dir, "node", "evacuate", "a", "--to", "b,c", "--parallel", "1", "--json")));
        firstRun.start();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (agentA.get("/api/v1/tasks?status=running").isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        JsonNode underWay = agentA.get("/api/v1/tasks?status=running").get(0);
        assertThat(underWay).as("the first run started a migration").isNotNull();
        firstRun.interrupt();
        FerryCli.Run r = first.get(60, TimeUnit.SECONDS);
        System.out.println("evacuate, first run, interrupted:\n" + r.both());
        assertThat(r.code()).as(r.both()).isEqualTo(Main.FAILED);
        assertThat(r.err()).contains("interrupted").contains("run it again");
        int held = underWay.path("vmid").asInt();

        r = ferry(dir, "node", "evacuate", "a", "--to", "b,c", "--all", "--json");
        System.out.println("evacuate, second run:\n" + r.out() + "\nprogress:\n" + r.err());
        assertThat(r.code()).as(r.both()).isZero();
        Map<Integer, JsonNode> byVm = new TreeMap<>();
        r.json().path("vms").forEach(v -> byVm.put(v.path("vmid").asInt(), v));
        // the VM under way: waited for (or already gone when this run looked), never migrated again
        if (byVm.containsKey(held)) {
            assertThat(byVm.get(held).path("outcome").asText()).isEqualTo("already-moved");
            assertThat(byVm.get(held).path("task").isNull()).isTrue();
            assertThat(r.err()).contains("\"event\":\"locked\"");
        }
        for (int vmid : List.of(101, 102, 103)) {
            if (vmid != held) {
                assertThat(byVm.get(vmid).path("outcome").asText()).as(r.out()).isEqualTo("completed");
                assertThat(byVm.get(vmid).path("online").asBoolean()).isTrue();
            }
        }
        assertThat(byVm.get(105).path("outcome").asText()).isEqualTo("completed");
        assertThat(byVm.get(105).path("online").asBoolean()).as("stopped: moved offline with --all").isFalse();
        long tasksOfHeld = 0;
        for (JsonNode t : agentA.get("/api/v1/tasks")) {
            tasksOfHeld += t.path("vmid").asInt() == held ? 1 : 0;
        }
        assertThat(tasksOfHeld).as("VM " + held + " was migrated once").isEqualTo(1);
        for (int vmid : List.of(101, 102, 103, 105)) {
            assertThat(vmStatus(vmid).path("owner").asText()).isIn("b", "c");
        }

        // nothing is left to do: a third run moves nothing and succeeds
        r = ferry(dir, "node", "evacuate", "a");
        System.out.println("evacuate, third run:\n" + r.out());
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("0 VM(s) to move").contains("0 moved, 0 not moved");
    }
}
