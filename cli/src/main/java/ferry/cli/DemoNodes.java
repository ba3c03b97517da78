package ferry.cli;

import ferry.agent.Agent;
import ferry.agent.ClusterLayout;
import ferry.cluster.StoreAddress;
import ferry.testkit.etcd.EtcdServer;
import ferry.testkit.netns.HostNetwork;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The demo's nodes a and b with their agents running: on loopback in this process, or one per host namespace. */
sealed interface DemoNodes extends AutoCloseable {
    List<String> NAMES = List.of("a", "b");

    ClusterLayout layout();

    /** Where the agents run, for the demo's first line. */
    String where();

    /** Where the cluster's records live: "directory" or "etcd". */
    String store();

    /** Stops the agents; the VMs' QEMUs are the caller's. */
    @Override
    void close();

    /**
     * Both agents in this process, on consecutive free loopback ports.
     *
     * @param sourceQemu node a's own QEMU (e.g. 7.2 beside the installed 10.0); null: the installed one
     */
    static DemoNodes loopback(Path clusterDir, ferry.cluster.NodeQemu sourceQemu) {
        Loopback nodes = new Loopback(ClusterLayout.createOnFreePorts(clusterDir, "demo", NAMES), new ArrayList<>());
        try {
            setSourceQemu(nodes.layout(), sourceQemu);
            NAMES.forEach(n -> nodes.agents().add(Agent.start(nodes.layout().dir(), n)));
        } catch (RuntimeException e) {
            nodes.close();
            throw e;
        }
        return nodes;
    }

    /**
     * Each agent a process inside its host's namespace, listening on the host's address; the
     * cluster's records in an etcd that runs here, on the ctl host (when etcd is installed). This
     * process must run inside the network too (the ctl host) to reach them.
     */
    static DemoNodes onHosts(Path clusterDir, HostNetwork net, ferry.cluster.NodeQemu sourceQemu)
            throws IOException, InterruptedException {
        Map<String, String> addresses = new LinkedHashMap<>();
        NAMES.forEach(n -> addresses.put(n, net.address(n)));
        // etcd over mutual TLS (etcds://): the cluster's CA and etcd's certificate are made before it starts
        EtcdServer etcd = EtcdServer.unavailableReason() != null ? null
                : ClusterEtcd.on(clusterDir, "demo", clusterDir.resolveSibling("etcd"), net.address(HostNetwork.CTL),
                        ETCD_CLIENT_PORT, ETCD_PEER_PORT);
        StoreAddress store = etcd == null ? StoreAddress.DIRECTORY : StoreAddress.parse(etcd.storeAddress());
        OnHosts nodes;
        try {
            nodes = new OnHosts(ClusterLayout.create(clusterDir, "demo", ClusterLayout.hostNodes(addresses,
                    AcrossHosts.AGENT_PORT), store), net, new ArrayList<>(), etcd);
        } catch (RuntimeException e) {
            if (etcd != null) {
                etcd.close();
            }
            throw e;
        }
        try {
            setSourceQemu(nodes.layout(), sourceQemu);
            for (String n : NAMES) {
                nodes.agents().add(AgentProcess.start(nodes.layout(), n, net.command(n, List.of()), AcrossHosts.LEAN_JVM,
                        Duration.ofSeconds(60)));
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            nodes.close();
            throw e;
        }
        return nodes;
    }

    /** Before the agents start: they read their node's QEMU once, at start. */
    private static void setSourceQemu(ClusterLayout layout, ferry.cluster.NodeQemu q) {
        if (q != null) {
            try (var s = layout.open()) {
                s.setQemu(NAMES.get(0), q);
            }
        }
    }

    /** etcd's ports on the ctl host: the namespace is the demo's own, so fixed ports are free. */
    int ETCD_CLIENT_PORT = 2379;
    int ETCD_PEER_PORT = 2380;

    record Loopback(ClusterLayout layout, List<Agent> agents) implements DemoNodes {
        @Override
        public String where() {
            return "agents on loopback";
        }

        @Override
        public String store() {
            return "directory";
        }

        @Override
        public void close() {
            agents.forEach(Agent::close);
        }
    }

    record OnHosts(ClusterLayout layout, HostNetwork net, List<AgentProcess> agents, EtcdServer etcd)
            implements DemoNodes {
        @Override
        public String where() {
            return "each agent in its host's network namespace (" + String.join(", ",
                    NAMES.stream().map(n -> n + ": " + net.namespace(n) + " " + net.address(n)).toList()) + "), records in "
                    + (etcd == null ? "the cluster folder (etcd is not installed: " + EtcdServer.unavailableReason() + ")"
                    : "etcd at " + etcd.storeAddress() + " on the ctl host");
        }

        @Override
        public String store() {
            return etcd == null ? "directory" : "etcd";
        }

        @Override
        public void close() {
            for (AgentProcess a : agents) {
                try {
                    if (!a.stop(Duration.ofSeconds(30))) {
                        a.kill();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return; // the network's teardown kills whatever is left
                }
            }
            if (etcd != null) {
                try {
                    etcd.close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
