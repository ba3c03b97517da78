package ferry.cli;

import ferry.agent.AgentClient;
import ferry.agent.AgentCredentials;
import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import ferry.cluster.VmRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --cluster DIR} (or FERRY_CLUSTER): which cluster folder a command works on. */
final class ClusterOption {
    @Option(names = "--cluster", paramLabel = "DIR", defaultValue = "${env:FERRY_CLUSTER}",
            description = "Cluster folder (default: $FERRY_CLUSTER).")
    Path dir;

    ClusterLayout layout() {
        if (dir == null) {
            throw new UsageError("no cluster given: use --cluster DIR or set FERRY_CLUSTER (create one with "
                    + "'ferry cluster create DIR --nodes a,b')");
        }
        if (!Files.exists(dir.resolve("cluster.json")) && !Files.exists(dir.resolve("store.json"))) {
            throw new UsageError(dir + " is not a Ferry cluster folder (no cluster.json or store.json); create one "
                    + "with 'ferry cluster create " + dir + " --nodes a,b'");
        }
        return new ClusterLayout(dir);
    }

    /** A person waits at a prompt: an etcd that does not answer is reported after a few seconds, not 30. */
    static final java.time.Duration PATIENCE = java.time.Duration.ofSeconds(5);

    ClusterStore store() {
        return layout().open(PATIENCE);
    }

    AgentClient agent(String node) {
        try (ClusterStore s = store()) {
            NodeInfo n = s.config().node(node).orElseThrow(() -> new UsageError("unknown node '" + node
                    + "'; the cluster's nodes are " + String.join(", ", s.config().nodeNames())));
            return new AgentClient(n.agentAddress(), AgentCredentials.admin(dir));
        }
    }

    /** The agent of the node that owns the VM. */
    AgentClient ownerOf(int vmid) {
        return agent(owner(vmid));
    }

    String owner(int vmid) {
        try (ClusterStore s = store()) {
            return s.vm(vmid).map(VmRecord::owner).orElseThrow(() ->
                    new UsageError("VM " + vmid + " does not exist in cluster " + dir));
        }
    }
}
