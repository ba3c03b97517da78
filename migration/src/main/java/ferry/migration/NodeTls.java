package ferry.migration;

import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Credential;
import ferry.cluster.pki.Identity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.Optional;

/**
 * What a node's QEMUs prove themselves with on a migration stream: the node's own certificate
 * and key, and the cluster's CA, which every peer's certificate must chain to.
 */
public record NodeTls(Credential credential, X509Certificate ca) {
    /**
     * Node {@code node}'s credentials from the cluster folder's {@code pki/}; empty when the cluster
     * has no CA (made before certificates existed) or this host lacks the node's certificate.
     */
    public static Optional<NodeTls> of(Path clusterDir, String node) {
        ClusterPki pki = ClusterPki.in(clusterDir);
        if (!pki.exists() || !Files.exists(pki.nodeFolder(node).resolve("cert.pem"))) {
            return Optional.empty();
        }
        return Optional.of(new NodeTls(pki.node(node), pki.caCertificate()));
    }

    /** The distinguished name QEMU's {@code authz-simple} must name to admit {@code node}'s QEMUs. */
    public static String identityOf(String node) {
        return Identity.node(node).distinguishedName();
    }

    @Override
    public String toString() {
        return "NodeTls[" + credential + "]"; // never the key
    }
}
