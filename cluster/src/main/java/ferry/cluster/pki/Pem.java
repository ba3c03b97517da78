package ferry.cluster.pki;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/** PEM text of certificates and keys, the form QEMU's GnuTLS and people's tools read. */
public final class Pem {
    private Pem() {}

    public static String of(X509Certificate cert) {
        return write(cert);
    }

    /** A private key as PKCS#8 ({@code BEGIN PRIVATE KEY}), which GnuTLS and Java both read. */
    public static String of(PrivateKey key) {
        try {
            return write(new JcaPKCS8Generator(key, null).generate());
        } catch (IOException e) {
            throw new PkiException("cannot encode a private key: " + e.getMessage(), e);
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
