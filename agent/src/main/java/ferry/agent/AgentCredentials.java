package ferry.agent;

import ferry.cluster.pki.TlsContexts;
import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Credential;
import ferry.cluster.pki.Identity;
import ferry.cluster.pki.PkiException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Instant;
import javax.net.ssl.SSLContext;

/**
 * Who speaks to (or as) an agent: a certificate of the cluster with its key, and the cluster's CA
 * to check the other side against. The CLI speaks as the admin; an agent serves and calls its
 * peers as its node.
 */
public final class AgentCredentials {
    private final Identity identity;
    private final Instant notAfter;
    private final SSLContext tls;

    private AgentCredentials(Identity identity, Instant notAfter, SSLContext tls) {
        this.identity = identity;
        this.notAfter = notAfter;
        this.tls = tls;
    }

    /** The admin's certificate of the cluster in {@code clusterDir} (the CLI's). */
    public static AgentCredentials admin(Path clusterDir) {
        ClusterPki pki = pkiOf(clusterDir);
        return of(pki.admin(), pki.caCertificate(), "'ferry cluster rotate-certs --admin'");
    }

    /** Node {@code node}'s certificate of the cluster in {@code clusterDir} (its agent's). */
    public static AgentCredentials node(Path clusterDir, String node) {
        ClusterPki pki = pkiOf(clusterDir);
        return of(pki.node(node), pki.caCertificate(), "'ferry cluster rotate-certs --node " + node
                + "' on the admin's machine, then restart the agent");
    }

    /** Any credential (tests use certificates of another CA, or expired ones). */
    public static AgentCredentials of(Credential own, X509Certificate ca) {
        return new AgentCredentials(own.identity(), own.notAfter(), TlsContexts.of(own, ca));
    }

    private static AgentCredentials of(Credential own, X509Certificate ca, String renew) {
        if (!Instant.now().isBefore(own.notAfter())) {
            throw new PkiException("the certificate of " + own.identity() + " expired at " + own.notAfter()
                    + "; renew it with " + renew);
        }
        return of(own, ca);
    }

    private static ClusterPki pkiOf(Path clusterDir) {
        ClusterPki pki = ClusterPki.in(clusterDir);
        if (!Files.exists(pki.caCertFile())) {
            throw new PkiException("cluster " + clusterDir.toAbsolutePath() + " has no certificates (no "
                    + pki.caCertFile() + "); it was made by a Ferry without TLS: create it again with 'ferry cluster "
                    + "create', or copy the pki/ folder from the machine that created it");
        }
        return pki;
    }

    public Identity identity() {
        return identity;
    }

    public Instant notAfter() {
        return notAfter;
    }

    SSLContext tls() {
        return tls;
    }

    @Override
    public String toString() {
        return "AgentCredentials[" + identity + ", valid until " + notAfter + "]";
    }
}
