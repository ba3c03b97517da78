package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.EXISTS;
import static ferry.cluster.ClusterException.Reason.IO;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.etcd.EtcdClusterStore;
import ferry.cluster.etcd.EtcdTls;
import ferry.cluster.pki.Identity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Creates and opens a cluster's store from its cluster folder. The folder always exists on every
 * host (it also holds storages, run directories and logs); for the directory store it holds the
 * records too, for etcd only {@code store.json}, which names the etcd endpoints and the cluster.
 * An {@code etcds://} store is reached with a certificate from the folder's {@code pki/}: the
 * admin's for the CLI (the default), a node's for its agent.
 */
public final class ClusterStores {
    static final String POINTER_FILE = "store.json";

    private ClusterStores() {}

    /** Whether {@code dir} holds a cluster already (its records, or a pointer to etcd). */
    public static boolean holdsCluster(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        return Files.exists(abs.resolve(POINTER_FILE)) || Files.exists(abs.resolve("cluster.json"));
    }

    /**
     * Creates the cluster's records where {@code store} says and, for etcd, the pointer in {@code
     * dir}; for {@code etcds://} the folder's {@code pki/} must hold the CA and the admin's
     * certificate already (see {@code ClusterPki.prepare}): they are what reaches etcd.
     */
    public static ClusterStore create(Path dir, String name, List<NodeInfo> nodes, StoreAddress store) {
        if (!store.isEtcd()) {
            return DirectoryClusterStore.create(dir, name, nodes);
        }
        Path pointer = dir.toAbsolutePath().normalize().resolve(POINTER_FILE);
        if (holdsCluster(dir)) {
            throw new ClusterException(EXISTS, dir + " already holds a cluster; create the new cluster in another folder");
        }
        EtcdClusterStore created = EtcdClusterStore.create(store, name, nodes, tls(dir, store, Identity.admin()));
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

    /** Opens the store that the cluster folder {@code dir} names, as the admin. */
    public static ClusterStore open(Path dir) {
        return open(dir, EtcdClusterStore.PATIENCE);
    }

    /** The same; an etcd that does not answer fails an operation after {@code patience}. */
    public static ClusterStore open(Path dir, java.time.Duration patience) {
        return open(dir, patience, Identity.admin());
    }

    /** The same, speaking to an {@code etcds://} store as {@code as} (a node's agent as its node). */
    public static ClusterStore open(Path dir, java.time.Duration patience, Identity as) {
        Path pointer = dir.toAbsolutePath().normalize().resolve(POINTER_FILE);
        if (!Files.isRegularFile(pointer)) {
            return DirectoryClusterStore.open(dir);
        }
        try {
            ObjectNode o = Json.object(Files.readAllBytes(pointer));
            StoreAddress store = StoreAddress.parse(o.path("store").asText());
            return EtcdClusterStore.open(store, o.path("cluster").asText(), patience, tls(dir, store, as));
        } catch (IOException e) {
            throw new ClusterException(IO, "cannot read " + pointer + ": " + e.getMessage()
                    + "; it should hold {\"cluster\": NAME, \"store\": \"etcd://HOST:PORT\"}", e);
        }
    }

    /** The credentials for an {@code etcds://} store; none for a plain one. */
    private static EtcdTls tls(Path dir, StoreAddress store, Identity as) {
        return store.isTls() ? EtcdTls.of(dir, as) : null;
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
