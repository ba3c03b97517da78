package ferry.cli;

import ferry.cluster.pki.ClusterPki;
import ferry.testkit.etcd.EtcdServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A real etcd for a new cluster of the demo, the drill or a test, set up as the README tells an
 * operator: the cluster's CA and etcd's server certificate are made first in the cluster folder
 * ({@code pki/}), etcd serves with them and demands a client certificate of that CA, and {@code
 * ClusterLayout.create} then keeps the CA and issues the nodes' certificates.
 */
public final class ClusterEtcd {
    private ClusterEtcd() {}

    /** TLS etcd on loopback (free ports), data in {@code etcdDir}, for cluster {@code cluster} in {@code clusterDir}. */
    public static EtcdServer onLoopback(Path clusterDir, String cluster, Path etcdDir)
            throws IOException, InterruptedException {
        return EtcdServer.startOnLoopback(etcdDir, files(ClusterPki.prepare(clusterDir, cluster, List.of(),
                List.of("127.0.0.1"))));
    }

    /** TLS etcd listening on {@code host} (e.g. the ctl host's address). */
    public static EtcdServer on(Path clusterDir, String cluster, Path etcdDir, String host, int clientPort,
            int peerPort) throws IOException, InterruptedException {
        return EtcdServer.start(etcdDir, List.of(), host, clientPort, peerPort,
                files(ClusterPki.prepare(clusterDir, cluster, List.of(), List.of(host))));
    }

    /** etcd's files from the cluster's {@code pki/}; the admin's certificate serves its health check. */
    public static EtcdServer.Tls files(ClusterPki pki) {
        return new EtcdServer.Tls(pki.etcdFolder().resolve("cert.pem"), pki.etcdFolder().resolve("key.pem"),
                pki.caCertFile(), pki.adminFolder().resolve("cert.pem"), pki.adminFolder().resolve("key.pem"));
    }
}
