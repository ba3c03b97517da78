package ferry.agent;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.cluster.ClusterStore;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** N agents of a fresh cluster on free loopback ports; close stops the agents and every QEMU they ran. */
final class LocalCluster implements AutoCloseable {
    final ClusterLayout layout;
    final Map<String, Agent> agents = new LinkedHashMap<>();
    final String token;

    LocalCluster(Path dir, String... nodes) throws IOException {
        layout = ClusterLayout.create(dir, "test", List.of(nodes), freePorts(nodes.length));
        try (ClusterStore s = layout.open()) {
            token = s.config().token();
        }
        for (String n : nodes) {
            agents.put(n, Agent.start(dir, n));
        }
    }

    /** A run of free consecutive ports; retried because another process may take one meanwhile. */
    private static int freePorts(int n) throws IOException {
        for (int attempt = 0; attempt < 50; attempt++) {
            int first;
            try (ServerSocket s = new ServerSocket(0)) {
                first = s.getLocalPort();
            }
            if (first + n > 65535) {
                continue;
            }
            List<ServerSocket> held = new ArrayList<>();
            try {
                for (int i = 0; i < n; i++) {
                    held.add(new ServerSocket(first + i));
                }
                return first;
            } catch (IOException busy) {
                // try another run
            } finally {
                for (ServerSocket s : held) {
                    s.close();
                }
            }
        }
        throw new IOException("no run of " + n + " free ports on loopback");
    }

    AgentClient client(String node) {
        try (ClusterStore s = layout.open()) {
            return new AgentClient(s.config().node(node).orElseThrow().agentAddress(), token);
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
