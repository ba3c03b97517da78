package ferry.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import ferry.cluster.ClusterStores;
import ferry.cluster.NodeInfo;
import ferry.cluster.StoreAddress;
import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Identity;
import ferry.node.NodeException;
import ferry.node.Storage;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The embedded cluster folder: the cluster store's records plus what the nodes of one host keep
 * beside them — storages ({@code storage.json}; a path may contain {@code {node}}), run
 * directories, agent logs and task logs.
 */
public final class ClusterLayout {
    /** The API's mapper: storage.json is a tree, which its snake_case naming leaves as it is written. */
    private static final ObjectMapper JSON = ApiJson.MAPPER;
    private final Path dir;

    public ClusterLayout(Path dir) {
        this.dir = dir.toAbsolutePath();
    }

    /** Creates a cluster of the given nodes on loopback: agents on consecutive ports from {@code firstPort}. */
    public static ClusterLayout create(Path dir, String name, List<String> nodeNames, int firstPort) {
        return create(dir, name, loopbackNodes(nodeNames, firstPort), StoreAddress.DIRECTORY);
    }

    /** The nodes of a cluster on loopback: agents on consecutive ports from {@code firstPort}. */
    public static List<NodeInfo> loopbackNodes(List<String> nodeNames, int firstPort) {
        List<NodeInfo> nodes = new java.util.ArrayList<>();
        for (int i = 0; i < nodeNames.size(); i++) {
            nodes.add(new NodeInfo(nodeNames.get(i), "127.0.0.1:" + (firstPort + i), "127.0.0.1"));
        }
        return nodes;
    }

    /**
     * The nodes of a cluster whose nodes each have their own address (hosts that meet over a
     * network): node n's agent listens on {@code addresses.get(n)}:{@code port}, and migration
     * streams to n go to that address too. The nodes in the map's order.
     */
    public static List<NodeInfo> hostNodes(Map<String, String> addresses, int port) {
        List<NodeInfo> nodes = new java.util.ArrayList<>();
        addresses.forEach((node, host) ->
                nodes.add(new NodeInfo(node, (host.contains(":") ? "[" + host + "]" : host) + ":" + port, host)));
        return nodes;
    }

    /** Creates a cluster of nodes on their own hosts (see {@link #hostNodes}), its records in the folder. */
    public static ClusterLayout create(Path dir, String name, Map<String, String> addresses, int port) {
        return create(dir, name, hostNodes(addresses, port), StoreAddress.DIRECTORY);
    }

    /**
     * Creates a cluster of {@code nodes} whose records live where {@code store} says (the folder
     * itself, or etcd); the folder also gets the cluster's CA with a certificate for each node and
     * the admin ({@code pki/}), the storages, and later run directories and logs.
     */
    public static ClusterLayout create(Path dir, String name, List<NodeInfo> nodes, StoreAddress store) {
        if (store.isTls()) {
            if (ClusterStores.holdsCluster(dir)) {
                throw new ClusterException(ClusterException.Reason.EXISTS, dir + " already holds a cluster; create the "
                        + "new cluster in another folder");
            }
            // the certificates first: the admin's reaches etcd, and etcd must serve with its own before we can
            ClusterPki pki = ClusterPki.prepare(dir, name, nodes, store.etcdHosts());
            try {
                ClusterStores.create(dir, name, nodes, store).close();
            } catch (ClusterException e) {
                if (e.reason() != ClusterException.Reason.IO) {
                    throw e;
                }
                throw new ClusterException(e.reason(), e.getMessage() + ". If that etcd is not yet set up for this "
                        + "cluster: the certificates are ready in " + pki.folder() + "; start etcd with "
                        + etcdFlags(pki)
                        + " (and https:// client URLs), then run this command again: it keeps them", e);
            }
        } else {
            ClusterStores.create(dir, name, nodes, store).close();
            ClusterPki.prepare(dir, name, nodes, List.of());
        }
        ferry.cluster.pki.AccessTokens.in(dir).ensure(); // the web UI's password, Prometheus's scrape token
        ClusterLayout layout = new ClusterLayout(dir);
        ArrayNode storages = JSON.createArrayNode();
        storages.addObject().put("id", "local").put("path", dir.toAbsolutePath().resolve("storage/{node}/local").toString())
                .put("shared", false);
        storages.addObject().put("id", "shared").put("path", dir.toAbsolutePath().resolve("storage/shared").toString())
                .put("shared", true);
        try {
            JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("storage.json").toFile(), storages);
        } catch (IOException e) {
            throw new NodeException("cannot write " + dir.resolve("storage.json") + ": " + e.getMessage(), e);
        }
        return layout;
    }

    /**
     * A throwaway cluster of the given nodes on loopback, its agents on a run of consecutive ports
     * that are free now (demo, bench, drill, tests); retried because another process may take one.
     */
    public static ClusterLayout createOnFreePorts(Path dir, String name, List<String> nodeNames) {
        return createOnFreePorts(dir, name, nodeNames, StoreAddress.DIRECTORY);
    }

    /** The same, its records where {@code store} says. */
    public static ClusterLayout createOnFreePorts(Path dir, String name, List<String> nodeNames, StoreAddress store) {
        return create(dir, name, loopbackNodes(nodeNames, freePortRun(nodeNames.size())), store);
    }

    private static int freePortRun(int n) {
        for (int attempt = 0; attempt < 50; attempt++) {
            int first;
            try (ServerSocket s = new ServerSocket(0)) {
                first = s.getLocalPort();
            } catch (IOException e) {
                throw new NodeException("cannot open a loopback port: " + e.getMessage(), e);
            }
            if (first + n > 65535) {
                continue;
            }
            List<ServerSocket> held = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < n; i++) {
                    held.add(new ServerSocket(first + i));
                }
                return first;
            } catch (IOException busy) {
                // try another run
            } finally {
                for (ServerSocket s : held) {
                    try {
                        s.close();
                    } catch (IOException ignored) {
                        // it was only held to see that it is free
                    }
                }
            }
        }
        throw new NodeException("no run of " + n + " free ports on loopback for the agents");
    }

    public Path dir() {
        return dir;
    }

    /** Opens the cluster's store: the folder's own records, or the etcd it names (waited for up to 30 s). */
    public ClusterStore open() {
        return ClusterStores.open(dir);
    }

    /** The same; an etcd that does not answer fails an operation after {@code patience}. */
    public ClusterStore open(java.time.Duration patience) {
        return ClusterStores.open(dir, patience);
    }

    /**
     * Opens the cluster's store as node {@code node}'s agent: an {@code etcds://} store is reached
     * with the node's certificate (a node's host has no admin key).
     */
    public ClusterStore openAsNode(String node) {
        return ClusterStores.open(dir, ferry.cluster.etcd.EtcdClusterStore.PATIENCE, Identity.node(node));
    }

    /** The flags that make an operator's etcd serve with the cluster's certificate and demand a client's. */
    public static String etcdFlags(ClusterPki pki) {
        return "--cert-file " + pki.etcdFolder().resolve("cert.pem")
                + " --key-file " + pki.etcdFolder().resolve("key.pem")
                + " --trusted-ca-file " + pki.caCertFile() + " --client-cert-auth";
    }

    /** Where the cluster's records live, without connecting. */
    public StoreAddress storeAddress() {
        return ClusterStores.address(dir);
    }

    /** The storages as node {@code node} sees them; their folders are created if missing. */
    public Map<String, Storage> storages(String node) {
        Path file = dir.resolve("storage.json");
        Map<String, Storage> out = new LinkedHashMap<>();
        try {
            for (JsonNode s : JSON.readTree(file.toFile())) {
                Path p = Path.of(s.path("path").asText().replace("{node}", node));
                Files.createDirectories(p);
                out.put(s.path("id").asText(), new Storage(s.path("id").asText(), p, s.path("shared").asBoolean()));
            }
        } catch (IOException e) {
            throw new NodeException("cannot read the storages of cluster " + dir + " (" + file + "): " + e.getMessage(), e);
        }
        return out;
    }

    /** The cluster's certificates ({@code pki/} in the folder). */
    public ClusterPki pki() {
        return ClusterPki.in(dir);
    }

    /** A client of node {@code node}'s agent that speaks as the admin (the CLI, tests, demo, drill). */
    public AgentClient adminClient(String node) {
        try (ClusterStore s = open()) {
            NodeInfo n = s.config().node(node).orElseThrow(() -> new IllegalArgumentException("unknown node '" + node
                    + "'; the cluster's nodes are " + String.join(", ", s.config().nodeNames())));
            return new AgentClient(n.agentAddress(), AgentCredentials.admin(dir));
        }
    }

    public Path runRoot(String node) {
        return dir.resolve("run").resolve(node);
    }

    public Path agentLog(String node) {
        return dir.resolve("logs").resolve("agent-" + node + ".log");
    }

    public Path agentPidFile(String node) {
        return dir.resolve("run").resolve("agent-" + node + ".pid");
    }

    public Path taskLog(String node, String taskId) {
        return dir.resolve("tasks").resolve(node).resolve(taskId + ".log");
    }
}
