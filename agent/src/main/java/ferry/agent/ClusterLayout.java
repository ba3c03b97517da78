package ferry.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import ferry.cluster.DirectoryClusterStore;
import ferry.cluster.NodeInfo;
import ferry.node.NodeException;
import ferry.node.Storage;
import java.io.IOException;
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
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;

    public ClusterLayout(Path dir) {
        this.dir = dir.toAbsolutePath();
    }

    /** Creates a cluster of the given nodes on loopback: agents on consecutive ports from {@code firstPort}. */
    public static ClusterLayout create(Path dir, String name, List<String> nodeNames, int firstPort) {
        List<NodeInfo> nodes = new java.util.ArrayList<>();
        for (int i = 0; i < nodeNames.size(); i++) {
            nodes.add(new NodeInfo(nodeNames.get(i), "127.0.0.1:" + (firstPort + i), "127.0.0.1"));
        }
        DirectoryClusterStore.create(dir, name, nodes).close();
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

    public Path dir() {
        return dir;
    }

    public DirectoryClusterStore open() {
        return DirectoryClusterStore.open(dir);
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
