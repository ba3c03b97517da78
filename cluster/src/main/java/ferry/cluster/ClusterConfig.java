package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;

import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * What every node agrees on about the cluster itself.
 *
 * @param name  cluster name
 * @param token a random value of this cluster (the etcd store recognises its own config by it); it
 *              authenticates nothing since agents speak mutual TLS (see {@code ferry.cluster.pki});
 *              still not shown by {@link #toString()}
 * @param nodes the members, in the order they were given
 */
public record ClusterConfig(String name, String token, List<NodeInfo> nodes) {

    public ClusterConfig {
        Names.name("cluster", name);
        if (token == null || token.isBlank()) {
            throw new ClusterException(INVALID, "cluster '" + name + "' has no token");
        }
        if (nodes == null || nodes.isEmpty()) {
            throw new ClusterException(INVALID, "cluster '" + name + "' needs at least one node");
        }
        nodes = List.copyOf(nodes);
        Set<String> names = new HashSet<>();
        Set<String> agents = new HashSet<>();
        for (NodeInfo n : nodes) {
            if (!names.add(n.name())) {
                throw new ClusterException(INVALID, "cluster '" + name + "' lists node '" + n.name()
                        + "' twice; give every node its own name");
            }
            if (!agents.add(n.agentAddress())) {
                throw new ClusterException(INVALID, "cluster '" + name + "': node '" + n.name()
                        + "' has the agent address " + n.agentAddress()
                        + " of another node; give every agent its own port");
            }
        }
    }

    /** A fresh random token: 32 bytes as 64 hex characters. */
    public static String newToken() {
        byte[] bytes = new byte[32];
        new java.security.SecureRandom().nextBytes(bytes);
        return java.util.HexFormat.of().formatHex(bytes);
    }

    public Optional<NodeInfo> node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst();
    }

    /** The same config with node {@code node}'s maintenance flag set to {@code on}. */
    public ClusterConfig withMaintenance(String node, boolean on) {
        return withNode(node, n -> n.withMaintenance(on));
    }

    /** The same config with node {@code node}'s QEMU set (null: the installed one). */
    public ClusterConfig withQemu(String node, NodeQemu qemu) {
        return withNode(node, n -> n.withQemu(qemu));
    }

    /** The same config with one node changed; refused (UNKNOWN_NODE) for a node that is not a member. */
    private ClusterConfig withNode(String node, java.util.function.UnaryOperator<NodeInfo> change) {
        if (node(node).isEmpty()) {
            throw new ClusterException(ClusterException.Reason.UNKNOWN_NODE, "unknown node '" + node
                    + "'; the cluster's nodes are " + String.join(", ", nodeNames()));
        }
        return new ClusterConfig(name, token, nodes.stream().map(n -> n.name().equals(node) ? change.apply(n) : n)
                .toList());
    }

    public List<String> nodeNames() {
        return nodes.stream().map(NodeInfo::name).toList();
    }

    @Override
    public String toString() {
        return "ClusterConfig[name=" + name + ", token=<hidden>, nodes=" + nodes + "]";
    }
}
