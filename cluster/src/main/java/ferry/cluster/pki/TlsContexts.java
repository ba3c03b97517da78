package ferry.cluster.pki;

import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The JDK's TLS context for one party of the cluster: it presents its own certificate and trusts
 * only the cluster's CA (not the JDK's public roots). The same context serves an agent's port and
 * its calls to peers, the CLI's calls as the admin, and the etcd store's handshake check.
 */
public final class TlsContexts {
    /** The in-memory key store needs a password; it never leaves this process. */
    private static final char[] IN_MEMORY = "ferry".toCharArray();

    private TlsContexts() {}

    public static SSLContext of(Credential own, X509Certificate ca) {
        try {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            // the leaf alone: the peer holds the CA already (and a stranger's chain need not lead to ours)
            keys.setKeyEntry("own", own.key(), IN_MEMORY, new Certificate[] {own.certificate()});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, IN_MEMORY);

            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry("cluster-ca", ca);
            // PKIX checks the chain to the CA, the validity dates and the extended key usage of the peer
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trusted);

            SSLContext ctx = SSLContext.getInstance("TLSv1.3");
            ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new PkiException("cannot build a TLS context for " + own + ": " + e.getMessage(), e);
        }
    }
}
