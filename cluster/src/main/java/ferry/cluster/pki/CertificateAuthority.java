package ferry.cluster.pki;

import java.math.BigInteger;
import java.net.InetAddress;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The cluster's own certificate authority: it signs one certificate per node (server and client:
 * a node's agent serves, and its QEMU is the server of incoming streams and the client of
 * outgoing ones) and the admin's client certificate. Keys are ECDSA P-256, which GnuTLS, Java's
 * TLS and etcd all take, and which is quick to generate.
 */
public final class CertificateAuthority {
    /** How long a new CA lives: long, because replacing it means re-issuing every certificate. */
    public static final Duration CA_VALIDITY = Duration.ofDays(3650);
    /** How long a node or admin certificate lives unless told otherwise ({@code rotate-certs} renews). */
    public static final Duration LEAF_VALIDITY = Duration.ofDays(825);
    /** Allowance for clocks of hosts that are a little behind the one that signed. */
    static final Duration BACKDATE = Duration.ofMinutes(5);
    private static final String SIGNATURE = "SHA256withECDSA";
    private static final Pattern IP = Pattern.compile("[0-9.]+|.*:.*");
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Credential ca;

    public CertificateAuthority(Credential ca) {
        this.ca = ca;
    }

    /** A new CA for the cluster {@code cluster}. */
    public static CertificateAuthority create(String cluster) {
        KeyPair keys = newKeyPair();
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=Ferry cluster " + cluster + " CA");
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(),
                    Date.from(now.minus(BACKDATE)), Date.from(now.plus(CA_VALIDITY)), subject, keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()));
            return new CertificateAuthority(new Credential(sign(b, keys), keys.getPrivate()));
        } catch (GeneralSecurityException | CertIOException e) {
            throw new PkiException("cannot make the cluster's CA: " + e.getMessage(), e);
        }
    }

    public Credential credential() {
        return ca;
    }

    public X509Certificate certificate() {
        return ca.certificate();
    }

    /**
     * A certificate for {@code who}, valid from now for {@code validity}; {@code hosts} are the
     * names and addresses it is valid for (a node's agent and migration addresses).
     */
    public Credential issue(Identity who, List<String> hosts, Duration validity) {
        Instant now = Instant.now();
        return issue(who, hosts, now.minus(BACKDATE), now.plus(validity));
    }

    /** The same with an explicit validity window (tests make expired certificates with it). */
    public Credential issue(Identity who, List<String> hosts, Instant notBefore, Instant notAfter) {
        ExtendedKeyUsage usage = who.role() == Identity.Role.ADMIN
                ? new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth)
                : new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth});
        return issue(who.toString(), who.distinguishedName(), alternativeNames(who, hosts), usage, notBefore, notAfter);
    }

    /**
     * A server certificate for a service the cluster uses but that is no member of it (its etcd):
     * valid for {@code hosts}, and carrying no Ferry identity, so an agent lets no client in with
     * it. It may also act as a client, because etcd's own gateway dials etcd with it.
     */
    public Credential issueService(String commonName, List<String> hosts, Duration validity) {
        Instant now = Instant.now();
        List<GeneralName> names = hosts.stream().map(CertificateAuthority::hostName).toList();
        return issue(commonName, "CN=" + commonName, new GeneralNames(names.toArray(GeneralName[]::new)),
                new ExtendedKeyUsage(new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}),
                now.minus(BACKDATE), now.plus(validity));
    }

    private Credential issue(String who, String subject, GeneralNames names, ExtendedKeyUsage usage, Instant notBefore,
            Instant notAfter) {
        KeyPair keys = newKeyPair();
        try {
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.certificate(), serial(),
                    Date.from(notBefore), Date.from(notAfter), new X500Name(subject), keys.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    // QEMU refuses a critical key usage without key encipherment, even for an EC key
                    .addExtension(Extension.keyUsage, true,
                            new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment))
                    .addExtension(Extension.extendedKeyUsage, false, usage)
                    .addExtension(Extension.subjectAlternativeName, false, names)
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(keys.getPublic()))
                    .addExtension(Extension.authorityKeyIdentifier, false,
                            ext.createAuthorityKeyIdentifier(ca.certificate()));
            return new Credential(sign(b, new KeyPair(ca.certificate().getPublicKey(), ca.key())), keys.getPrivate());
        } catch (GeneralSecurityException | CertIOException e) {
            throw new PkiException("cannot issue a certificate for " + who + ": " + e.getMessage(), e);
        }
    }

    /** Whether {@code cert} was signed by this CA (its signature verifies with the CA's key). */
    public boolean signed(X509Certificate cert) {
        try {
            cert.verify(ca.certificate().getPublicKey());
            return true;
        } catch (GeneralSecurityException e) {
            return false;
        }
    }

    private static GeneralNames alternativeNames(Identity who, List<String> hosts) {
        List<GeneralName> names = new ArrayList<>();
        names.add(new GeneralName(GeneralName.uniformResourceIdentifier, who.uri()));
        Set<String> seen = new LinkedHashSet<>(hosts);
        if (who.role() == Identity.Role.NODE) {
            seen.add(who.name());
        }
        for (String h : seen) {
            names.add(hostName(h));
        }
        return new GeneralNames(names.toArray(GeneralName[]::new));
    }

    /** A host as a subject alternative name: an IP address entry for a literal, else a DNS name. */
    private static GeneralName hostName(String h) {
        String host = h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
        return IP.matcher(host).matches() && isAddress(host)
                ? new GeneralName(GeneralName.iPAddress, host) : new GeneralName(GeneralName.dNSName, host);
    }

    private static boolean isAddress(String host) {
        try {
            // a literal is parsed without a name lookup
            return InetAddress.getByName(host) != null;
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws GeneralSecurityException {
        try {
            return new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder(SIGNATURE).build(signer.getPrivate())));
        } catch (OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new PkiException("cannot generate an EC key: " + e.getMessage(), e);
        }
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }
}
