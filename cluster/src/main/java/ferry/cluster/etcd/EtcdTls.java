package ferry.cluster.etcd;

import ferry.cluster.ClusterException;
import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Credential;
import ferry.cluster.pki.Identity;
import ferry.cluster.pki.PkiException;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLException;

/**
 * What a client of an {@code etcds://} store needs: the cluster's CA, the only issuer whose
 * server certificate it trusts, and the certificate it presents itself (a node's for its agent,
 * the admin's for the CLI), which etcd started with {@code --client-cert-auth} demands.
 *
 * @param ca     the cluster's CA certificate
 * @param client the certificate and key presented to etcd
 */
public record EtcdTls(X509Certificate ca, Credential client) {

    /** The credentials in the cluster folder {@code clusterDir} ({@code pki/}) of {@code who}. */
    public static EtcdTls of(Path clusterDir, Identity who) {
        ClusterPki pki = ClusterPki.in(clusterDir);
        try {
            return new EtcdTls(pki.caCertificate(), pki.of(who));
        } catch (PkiException e) {
            throw new ClusterException(ClusterException.Reason.INVALID, "the cluster's etcd speaks TLS, and "
                    + who + " needs its certificate and the CA's to reach it: " + e.getMessage(), e);
        }
    }

    /**
     * The client side of the handshake for gRPC over Netty: ALPN h2 (from {@link GrpcSslContexts}),
     * trust in the cluster's CA alone (not the JDK's list), and our certificate for etcd to check.
     */
    SslContext sslContext() {
        try {
            return GrpcSslContexts.forClient().trustManager(ca).keyManager(client.key(), client.certificate()).build();
        } catch (SSLException e) {
            throw new ClusterException(ClusterException.Reason.INVALID, "cannot set up TLS to etcd with "
                    + client + ": " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "EtcdTls[as " + client + "]";
    }
}
