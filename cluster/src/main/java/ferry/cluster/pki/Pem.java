package ferry.cluster.pki;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.interfaces.ECPrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.DERBitString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.jcajce.provider.asymmetric.util.EC5Util;
import org.bouncycastle.jce.spec.ECParameterSpec;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.util.io.pem.PemObject;

/** PEM text of certificates and keys, the form QEMU's GnuTLS and people's tools read. */
public final class Pem {
    private Pem() {}

    public static String of(X509Certificate cert) {
        return write(cert);
    }

    /**
     * A private key as PKCS#8 ({@code BEGIN PRIVATE KEY}), which GnuTLS and Java both read. An EC
     * key carries its public point too: Java leaves it out, and GnuTLS (so QEMU) refuses such a key
     * ("ASN1 parser: Element was not found").
     */
    public static String of(PrivateKey key) {
        try {
            if (key instanceof ECPrivateKey ec) {
                return write(new PemObject("PRIVATE KEY", withPublicPoint(ec).getEncoded()));
            }
            return write(new JcaPKCS8Generator(key, null).generate());
        } catch (IOException e) {
            throw new PkiException("cannot encode a private key: " + e.getMessage(), e);
        }
    }

    private static PrivateKeyInfo withPublicPoint(ECPrivateKey key) throws IOException {
        PrivateKeyInfo info = PrivateKeyInfo.getInstance(key.getEncoded());
        org.bouncycastle.asn1.sec.ECPrivateKey inner =
                org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
        if (inner.getPublicKey() != null) {
            return info;
        }
        ECParameterSpec spec = EC5Util.convertSpec(key.getParams());
        byte[] point = spec.getG().multiply(key.getS()).normalize().getEncoded(false);
        return new PrivateKeyInfo(info.getPrivateKeyAlgorithm(), new org.bouncycastle.asn1.sec.ECPrivateKey(
                spec.getN().bitLength(), key.getS(), new DERBitString(point), inner.getParametersObject()));
    }

    /**
     * A 2048-bit Diffie-Hellman group as PKCS#3 ({@code BEGIN DH PARAMETERS}), for a TLS server
     * of QEMU: without this file QEMU searches for a new group each time server credentials load,
     * which took 0.05 to 1.3 s here, on the path of every migration. The group is the JDK's own
     * precomputed one: public, and as good for everyone as a fresh one.
     */
    public static String dhParameters() {
        return DhGroup.PEM;
    }

    /** Made on first use only: most users of this class never need it. */
    private static final class DhGroup {
        static final String PEM = dhGroup();
    }

    private static String dhGroup() {
        try {
            java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("DH");
            g.initialize(2048);
            javax.crypto.spec.DHParameterSpec spec = ((javax.crypto.interfaces.DHPublicKey) g.generateKeyPair()
                    .getPublic()).getParams();
            return write(new PemObject("DH PARAMETERS",
                    new org.bouncycastle.asn1.pkcs.DHParameter(spec.getP(), spec.getG(), 0).getEncoded()));
        } catch (java.security.GeneralSecurityException | IOException e) {
            throw new PkiException("cannot encode the Diffie-Hellman group: " + e.getMessage(), e);
        }
    }

    private static String write(Object o) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(o);
        } catch (IOException e) {
            throw new PkiException("cannot write PEM: " + e.getMessage(), e);
        }
        return out.toString();
    }

    public static X509Certificate readCertificate(Path file) {
        Object o = readObject(file);
        if (!(o instanceof X509CertificateHolder holder)) {
            throw new PkiException(file + " holds no certificate");
        }
        try {
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (CertificateException e) {
            throw new PkiException(file + ": " + e.getMessage(), e);
        }
    }

    public static PrivateKey readKey(Path file) {
        Object o = readObject(file);
        try {
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter();
            if (o instanceof PrivateKeyInfo info) {
                return conv.getPrivateKey(info);
            }
            if (o instanceof PEMKeyPair pair) {
                return conv.getKeyPair(pair).getPrivate();
            }
        } catch (IOException e) {
            throw new PkiException(file + ": " + e.getMessage(), e);
        }
        throw new PkiException(file + " holds no unencrypted private key");
    }

    private static Object readObject(Path file) {
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII); PEMParser p = new PEMParser(r)) {
            Object o = p.readObject();
            if (o == null) {
                throw new PkiException(file + " holds no PEM block");
            }
            return o;
        } catch (IOException e) {
            throw new PkiException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }
}
