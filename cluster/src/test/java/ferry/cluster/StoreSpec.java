package ferry.cluster;

import ferry.cluster.etcd.EtcdClusterStore;
import ferry.cluster.etcd.EtcdTls;
import ferry.cluster.pki.Identity;
import java.nio.file.Path;

/**
 * How a child JVM of a test opens the parent's cluster: "etcd://HOST:PORT/CLUSTER",
 * "etcds://HOST:PORT/CLUSTER NODE PKIFOLDER" (as node NODE, with the certificates in the cluster
 * folder PKIFOLDER) or a folder.
 */
final class StoreSpec {
    private StoreSpec() {}

    static String etcd(String storeAddress, String cluster) {
        return storeAddress + "/" + cluster;
    }

    static String etcds(String storeAddress, String cluster, String node, Path clusterDir) {
        return storeAddress + "/" + cluster + " " + node + " " + clusterDir;
    }

    static ClusterStore open(String spec) {
        if (spec.startsWith("etcds://")) {
            String[] parts = spec.split(" ", 3);
            int slash = parts[0].lastIndexOf('/');
            return EtcdClusterStore.open(StoreAddress.parse(parts[0].substring(0, slash)), parts[0].substring(slash + 1),
                    EtcdClusterStore.PATIENCE, EtcdTls.of(Path.of(parts[2]), Identity.node(parts[1])));
        }
        if (spec.startsWith("etcd://")) {
            int slash = spec.lastIndexOf('/');
            return EtcdClusterStore.open(StoreAddress.parse(spec.substring(0, slash)), spec.substring(slash + 1));
        }
        return DirectoryClusterStore.open(Path.of(spec));
    }
}
