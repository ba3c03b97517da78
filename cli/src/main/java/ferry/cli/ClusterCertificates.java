package ferry.cli;

import ferry.agent.ClusterLayout;
import ferry.cluster.pki.ClusterPki;

/**
 * Certificates for the throwaway clusters of demo, bench and drill, so their streams go over TLS
 * as a real cluster's do. A cluster made with certificates already keeps them.
 */
public final class ClusterCertificates {
    private ClusterCertificates() {}

    public static ClusterLayout ensure(ClusterLayout layout) {
        if (!ClusterPki.in(layout.dir()).exists()) {
            try (var store = layout.open()) {
                ClusterPki.create(layout.dir(), store.config().name(), store.config().nodes());
            }
        }
        return layout;
    }
}
