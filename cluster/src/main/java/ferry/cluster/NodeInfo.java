package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;

/**
 * One member of the cluster.
 *
 * @param name             node name: lower-case letters, digits and '-'
 * @param agentAddress     where the node's agent listens, "host:port" ("[v6]:port" for IPv6)
 * @param migrationAddress the host (name, IPv4 or bare IPv6) QEMU migration streams to this node use
 * @param qemu             the QEMU its VMs run with; null: the one installed on its host
 */
public record NodeInfo(String name, String agentAddress, String migrationAddress, NodeQemu qemu) {

    /** A node whose VMs run with the QEMU installed on its host. */
    public NodeInfo(String name, String agentAddress, String migrationAddress) {
        this(name, agentAddress, migrationAddress, null);
    }

    /** The same node with another QEMU (null: the installed one). */
    public NodeInfo withQemu(NodeQemu q) {
        return new NodeInfo(name, agentAddress, migrationAddress, q);
    }

    public NodeInfo {
        Names.name("node", name);
        if (Names.hostPort(agentAddress) == null) {
            throw new ClusterException(INVALID, "node '" + name + "': agent address '" + agentAddress
                    + "' is not host:port (e.g. 127.0.0.1:8640 or [::1]:8640)");
        }
        if (!Names.isHost(migrationAddress)) {
            throw new ClusterException(INVALID, "node '" + name + "': migration address '" + migrationAddress
                    + "' is not a host name or IP address");
        }
    }

    /** The host part of {@link #agentAddress()}, without IPv6 brackets. */
    public String agentHost() {
        return Names.hostPort(agentAddress).host();
    }

    /** The port of {@link #agentAddress()}. */
    public int agentPort() {
        return Names.hostPort(agentAddress).port();
    }
}
