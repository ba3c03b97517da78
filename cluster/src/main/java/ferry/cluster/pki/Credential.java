package ferry.cluster.pki;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Instant;

/** A certificate and its private key (the key is never printed: see {@link #toString()}). */
public record Credential(X509Certificate certificate, PrivateKey key) {
    public Instant notAfter() {
        return certificate.getNotAfter().toInstant();
    }

    public Identity identity() {
        return Identity.of(certificate).orElseThrow(() -> new IllegalStateException(
                "certificate " + certificate.getSubjectX500Principal() + " names no identity of a Ferry cluster"));
    }

    @Override
    public String toString() {
        return "Credential[" + certificate.getSubjectX500Principal() + ", valid until " + notAfter() + "]";
    }
}
