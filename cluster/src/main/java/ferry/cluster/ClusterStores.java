package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.EXISTS;
import static ferry.cluster.ClusterException.Reason.IO;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.etcd.EtcdClusterStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Creates and opens a cluster's store from its cluster folder. The folder always exists on every
 * host (it also holds storages, run directories and logs); for the directory store it holds the
 * records too, for etcd only {@code store.json}, which names the etcd endpoints and the cluster.
 */
public final class ClusterStores {
    static final String POINTER_FILE = "store.json";

    private ClusterStores() {}

    /** Creates the cluster's records where {@code store} says and, for etcd, the pointer in {@code dir}. */
    public static ClusterStore create(Path dir, String name, List<NodeInfo> nodes, StoreAddress store) {
        if (!store.isEtcd()) {
            return DirectoryClusterStore.create(dir, name, nodes);
        }
        Path pointer = dir.toAbsolutePath().normalize().resolve(POINTER_FILE);
        if (Files.exists(pointer) || Files.exists(pointer.resolveSibling("cluster.json"))) {
            throw new ClusterException(EXISTS, dir + " already holds a cluster; create the new cluster in another folder");
        }
        EtcdClusterStore created = EtcdClusterStore.create(store, name, nodes);
        try {
            Files.createDirectories(pointer.getParent());
            ObjectNode o = Json.MAPPER.createObjectNode().put("cluster", name).put("store", store.toString());
            AtomicFiles.write(pointer, Json.pretty(o), null);
        } catch (IOException e) {
            created.close();
            throw new ClusterException(IO, "cluster '" + name + "' was created in " + store + " but the folder " + dir
                    + " cannot point to it (" + e.getMessage() + "); write " + pointer + " by hand: " + "{\"cluster\": \""
                    + name + "\", \"store\": \"" + store + "\"}", e);
        }
        return created;
    }

    /** Opens the store that the cluster folder {@code dir} names. */
    public static ClusterStore open(Path dir) {
        Path pointer = dir.toAbsolutePath().normalize().resolve(POINTER_FILE);
        if (!Files.isRegularFile(pointer)) {
            return DirectoryClusterStore.open(dir);
        }
        try {
            ObjectNode o = Json.object(Files.readAllBytes(pointer));
            return EtcdClusterStore.open(StoreAddress.parse(o.path("store").asText()), o.path("cluster").asText());
        } catch (IOException e) {
            throw new ClusterException(IO, "cannot read " + pointer + ": " + e.getMessage()
                    + "; it should hold {\"cluster\": NAME, \"store\": \"etcd://HOST:PORT\"}", e);
        }
    }

    /** The store the cluster folder names, without connecting. */
    public static StoreAddress address(Path dir) {
        Path pointer = dir.toAbsolutePath().normalize().resolve(POINTER_FILE);
        if (!Files.isRegularFile(pointer)) {
            return StoreAddress.DIRECTORY;
        }
        try {
            return StoreAddress.parse(Json.object(Files.readAllBytes(pointer)).path("store").asText());
        } catch (IOException e) {
            throw new ClusterException(IO, "cannot read " + pointer + ": " + e.getMessage(), e);
        }
    }
}
