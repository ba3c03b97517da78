package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;

/**
 * One member of the cluster.
 *
 * @param name             node name: lower-case letters, digits and '-'
 * @param agentAddress     where the node's agent listens, "host:port" ("[v6]:port" for IPv6)
 * @param migrationAddress the host (name, IPv4 or bare IPv6) QEMU migration streams to this node use
 * @param maintenance      the node is in maintenance: no migration may go to it (its own VMs may leave)
 * @param qemu             the QEMU its VMs run with; null: the one installed on its host
 */
public record NodeInfo(String name, String agentAddress, String migrationAddress, boolean maintenance,
                       NodeQemu qemu) {

    /** A node that is not in maintenance and runs its VMs with the QEMU installed on its host. */
    public NodeInfo(String name, String agentAddress, String migrationAddress) {
        this(name, agentAddress, migrationAddress, false, null);
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

    /** The same node with its maintenance flag set to {@code on}. */
    public NodeInfo withMaintenance(boolean on) {
        return new NodeInfo(name, agentAddress, migrationAddress, on, qemu);
    }

    /** The same node with another QEMU (null: the installed one). */
    public NodeInfo withQemu(NodeQemu q) {
        return new NodeInfo(name, agentAddress, migrationAddress, maintenance, q);
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
