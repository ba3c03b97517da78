package ferry.cli;

import ferry.cluster.ClusterStores;
import ferry.cluster.StoreAddress;
import java.nio.file.Path;
import java.util.Optional;

/**
 * What {@code cluster status} and {@code doctor} say about how the cluster's records are
 * protected: an etcd spoken to without TLS lets anyone who reaches its port rewrite ownership,
 * locks and journals, which is worth a warning every time someone looks.
 */
final class StoreWarning {
    private StoreWarning() {}

    /** The warning for the cluster in {@code clusterDir}, if its store is a plain etcd. */
    static Optional<String> of(Path clusterDir) {
        return of(ClusterStores.address(clusterDir));
    }

    static Optional<String> of(StoreAddress store) {
        if (!store.isEtcd() || store.isTls()) {
            return Optional.empty();
        }
        return Optional.of("the cluster's records are in etcd without TLS (" + store + "): anyone who reaches its port "
                + "can rewrite VM ownership, locks and journals; run etcd with the cluster's certificates and an "
                + "etcds:// store (see the README, 'Several hosts')");
    }
}
