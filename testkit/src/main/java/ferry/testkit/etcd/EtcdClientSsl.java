package ferry.testkit.etcd;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A JDK TLS context for the test kit's own calls to a TLS etcd (its health check): trusts the
 * etcd's CA and presents the given client certificate, from the PEM files the cluster writes.
 */
final class EtcdClientSsl {
    private EtcdClientSsl() {}

    static SSLContext context(EtcdServer.Tls tls) {
        try {
            CertificateFactory x509 = CertificateFactory.getInstance("X.509");
            Certificate ca;
            Certificate cert;
            try (InputStream in = Files.newInputStream(tls.trustedCa())) {
                ca = x509.generateCertificate(in);
            }
            try (InputStream in = Files.newInputStream(tls.clientCert())) {
                cert = x509.generateCertificate(in);
            }
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("ca", ca);
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            char[] none = new char[0];
            keys.setKeyEntry("client", privateKey(tls), none, new Certificate[] {cert});
            TrustManagerFactory tm = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tm.init(trust);
            KeyManagerFactory km = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            km.init(keys, none);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(km.getKeyManagers(), tm.getTrustManagers(), null);
            return ssl;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot read the TLS files of etcd's health check " + tls + ": "
                    + e.getMessage(), e);
        }
    }

    /** A PKCS#8 key ({@code BEGIN PRIVATE KEY}), EC as the cluster's CA issues them. */
    private static PrivateKey privateKey(EtcdServer.Tls tls) throws IOException, GeneralSecurityException {
        String pem = Files.readString(tls.clientKey());
        String body = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        return KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
    }
}
