package ferry.cluster;

import ferry.cluster.etcd.EtcdClusterStore;
import java.nio.file.Path;

/** How a child JVM of a test opens the parent's cluster: "etcd://HOST:PORT/CLUSTER" or a folder. */
final class StoreSpec {
    private StoreSpec() {}

    static String etcd(String storeAddress, String cluster) {
        return storeAddress + "/" + cluster;
    }

    static ClusterStore open(String spec) {
        if (spec.startsWith("etcd://")) {
            int slash = spec.lastIndexOf('/');
            return EtcdClusterStore.open(StoreAddress.parse(spec.substring(0, slash)), spec.substring(slash + 1));
        }
        return DirectoryClusterStore.open(Path.of(spec));
    }
}
