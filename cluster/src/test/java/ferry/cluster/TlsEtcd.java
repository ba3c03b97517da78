package ferry.cluster;

import ferry.cluster.etcd.EtcdTls;
import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Identity;
import ferry.testkit.etcd.EtcdServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A real etcd over mutual TLS for the store tests, as an operator runs one for an {@code etcds://}
 * store: a cluster's CA in a folder ({@code pki/}), etcd's certificate for loopback from it, and
 * clients that speak as the admin or a node of that CA.
 */
public final class TlsEtcd implements AutoCloseable {
    private final Path clusterDir;
    private final EtcdServer server;

    private TlsEtcd(Path clusterDir, EtcdServer server) {
        this.clusterDir = clusterDir;
        this.server = server;
    }

    /** A CA in {@code folder}/cluster with nodes a and b, and etcd (data in {@code folder}/etcd) serving with its certificate. */
    public static TlsEtcd start(Path folder) throws IOException, InterruptedException {
        Path clusterDir = folder.resolve("cluster");
        ClusterPki pki = ClusterPki.prepare(clusterDir, "tls", List.of(new NodeInfo("a", "127.0.0.1:1", "127.0.0.1"),
                new NodeInfo("b", "127.0.0.1:2", "127.0.0.1")), List.of("127.0.0.1"));
        return new TlsEtcd(clusterDir, EtcdServer.startOnLoopback(folder.resolve("etcd"), files(pki)));
    }

    /** The files etcd serves with, as the README tells an operator to give them. */
    public static EtcdServer.Tls files(ClusterPki pki) {
        return new EtcdServer.Tls(pki.etcdFolder().resolve("cert.pem"), pki.etcdFolder().resolve("key.pem"),
                pki.caCertFile(), pki.adminFolder().resolve("cert.pem"), pki.adminFolder().resolve("key.pem"));
    }

    public EtcdServer server() {
        return server;
    }

    /** The folder whose {@code pki/} holds the CA and the clients' certificates. */
    public Path clusterDir() {
        return clusterDir;
    }

    public StoreAddress address() {
        return StoreAddress.parse(server.storeAddress());
    }

    public EtcdTls admin() {
        return EtcdTls.of(clusterDir, Identity.admin());
    }

    public EtcdTls node(String name) {
        return EtcdTls.of(clusterDir, Identity.node(name));
    }

    @Override
    public void close() throws InterruptedException {
        server.close();
    }
}
