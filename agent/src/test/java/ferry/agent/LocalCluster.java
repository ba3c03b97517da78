package ferry.agent;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.cluster.ClusterStore;
import ferry.node.VmDefinition;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** N agents of a fresh cluster on free loopback ports; close stops the agents and every QEMU they ran. */
final class LocalCluster implements AutoCloseable {
    final ClusterLayout layout;
    final Map<String, Agent> agents = new LinkedHashMap<>();

    LocalCluster(Path dir, String... nodes) throws IOException {
        layout = ClusterLayout.createOnFreePorts(dir, "test", List.of(nodes));
        for (String n : nodes) {
            agents.put(n, Agent.start(dir, n));
        }
    }

    AgentClient client(String node) {
        return layout.adminClient(node);
    }

    /** A bootblock VM on node a's shared storage, defined there (not started); returns a's client. */
    AgentClient defineOnA(int vmid, String name, BootblockGuest guest) throws IOException {
        return defineOnA(vmid, name, guest, null);
    }

    /** The same with the VM's migration defaults. */
    AgentClient defineOnA(int vmid, String name, BootblockGuest guest, VmDefinition.Migration defaults)
            throws IOException {
        Path shared = layout.storages("a").get("shared").path();
        String volume = "vm-" + vmid + "-disk-0.raw";
        Files.copy(Bootblock.image(BootblockGuest.cacheDir(), guest.regionEnd(), guest.delay()), shared.resolve(volume));
        AgentClient a = client("a");
        a.post("/api/v1/vms", new VmDefinition(vmid, name, guest.memoryMiB(), 1, null, null, null,
                List.of(new VmDefinition.Disk("shared", volume, "raw", "ide")), null, defaults));
        return a;
    }

    /** The address of {@code node}'s agent. */
    String address(String node) {
        try (ClusterStore s = layout.open()) {
            return s.config().node(node).orElseThrow().agentAddress();
        }
    }

    /** Follows a task's log to its end and returns the final task JSON. */
    JsonNode await(String node, String taskId, Duration timeout) {
        AgentClient c = client(node);
        long deadline = System.nanoTime() + timeout.toNanos();
        int from = 0;
        while (System.nanoTime() < deadline) {
            JsonNode page = c.get("/api/v1/tasks/" + taskId + "/log?from=" + from + "&wait=1000");
            from = page.path("next").asInt();
            if (page.path("done").asBoolean()) {
                return c.get("/api/v1/tasks/" + taskId);
            }
        }
        throw new AssertionError("task " + taskId + " did not end within " + timeout);
    }

    /** Stops the agents first: they hold the VMs' QMP connections, which QEMU serves to one client only. */
    @Override
    public void close() {
        agents.values().forEach(Agent::close);
        try (ClusterStore s = layout.open()) {
            for (String node : s.config().nodeNames()) {
                var local = new ferry.node.LocalNode(node, ferry.node.QemuBinary.find(), layout.storages(node),
                        layout.runRoot(node));
                for (var vm : s.vms()) {
                    local.stop(vm.vmid(), Duration.ofSeconds(3));
                }
            }
        }
    }
}
