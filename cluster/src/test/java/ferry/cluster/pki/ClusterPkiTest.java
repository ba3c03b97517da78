package ferry.cluster.pki;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ferry.cluster.NodeInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateExpiredException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterPkiTest {
    @TempDir
    Path dir;

    private final List<NodeInfo> nodes = List.of(new NodeInfo("a", "10.77.0.1:8640", "10.77.0.1"),
            new NodeInfo("b", "node-b.example:8640", "10.77.0.2"));

    @Test
    void createIssuesACertificateForEachNodeAndTheAdminSignedByTheClustersCa() throws Exception {
        ClusterPki pki = ClusterPki.create(dir, "prod", nodes);
        CertificateAuthority ca = pki.authority();

        Credential a = pki.node("a");
        assertThat(ca.signed(a.certificate())).isTrue();
        assertThat(a.identity()).isEqualTo(Identity.node("a"));
        assertThat(a.certificate().getSubjectX500Principal().getName()).isEqualTo("CN=a");
        assertThat(a.certificate().getSubjectAlternativeNames()).extracting(l -> (Object) l.get(1))
                .contains((Object) "10.77.0.1", "a", "ferry:node:a");
        assertThat(a.certificate().getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(pki.node("b").certificate().getSubjectAlternativeNames()).extracting(l -> (Object) l.get(1))
                .contains((Object) "node-b.example", "10.77.0.2");

        Credential admin = pki.admin();
        assertThat(admin.identity()).isEqualTo(Identity.admin());
        assertThat(ca.signed(admin.certificate())).isTrue();
        assertThat(admin.certificate().getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.2");
        assertThat(pki.states()).extracting(ClusterPki.CertificateState::who)
                .containsExactly("ca", "admin", "node a", "node b");
    }

    @Test
    void keysAreReadableByTheirOwnerOnly() throws Exception {
        ClusterPki pki = ClusterPki.create(dir, "prod", nodes);
        for (Path key : List.of(pki.folder().resolve("ca-key.pem"), pki.nodeFolder("a").resolve("key.pem"),
                pki.adminFolder().resolve("key.pem"))) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pki.nodeFolder("a"))))
                .isEqualTo("rwx------");
    }

    /** GnuTLS (so QEMU) refuses an EC key without its public point, which Java's own encoding leaves out. */
    @Test
    void anEcKeyIsWrittenWithItsPublicPoint() throws Exception {
        ClusterPki pki = ClusterPki.create(dir, "prod", nodes);
        byte[] der = java.util.Base64.getMimeDecoder().decode(Files.readString(pki.nodeFolder("a").resolve("key.pem"))
                .replace("-----BEGIN PRIVATE KEY-----", "").replace("-----END PRIVATE KEY-----", ""));
        var inner = org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(
                org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(der).parsePrivateKey());
        assertThat(inner.getPublicKey()).isNotNull();
        var certPoint = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(
                pki.node("a").certificate().getPublicKey().getEncoded()).getPublicKeyData().getBytes();
        assertThat(inner.getPublicKey().getBytes()).isEqualTo(certPoint);
        // and it still reads back as the same key
        assertThat(pki.node("a").key().getEncoded()).isNotEmpty();
    }

    @Test
    void aSecondCreateDoesNotReplaceTheCa() {
        ClusterPki pki = ClusterPki.create(dir, "prod", nodes);
        byte[] before = pki.caCertificate().getSignature();
        assertThatThrownBy(() -> ClusterPki.create(dir, "prod", nodes)).isInstanceOf(PkiException.class)
                .hasMessageContaining("rotate-certs");
        assertThat(pki.caCertificate().getSignature()).isEqualTo(before);
    }

    @Test
    void anotherCaDoesNotVouchForThisClustersCertificates() {
        ClusterPki pki = ClusterPki.create(dir, "prod", nodes);
        CertificateAuthority other = CertificateAuthority.create("prod");
        assertThat(other.signed(pki.node("a").certificate())).isFalse();
    }

    @Test
    void anExplicitWindowMakesAnExpiredCertificate() {
        ClusterPki pki = ClusterPki.create(dir, "prod", nodes);
        Instant now = Instant.now();
        Credential old = pki.authority().issue(Identity.node("a"), List.of("10.77.0.1"),
                now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)));
        assertThatThrownBy(() -> old.certificate().checkValidity()).isInstanceOf(CertificateExpiredException.class);
    }

    @Test
    void aCredentialNeverPrintsItsKey() {
        Credential a = ClusterPki.create(dir, "prod", nodes).node("a");
        assertThat(a.toString()).doesNotContain("PRIVATE").contains("CN=a");
    }
    @Test
    void etcdsCertificateNamesTheStoresHostsAndNoFerryIdentity() throws Exception {
        ClusterPki pki = ClusterPki.prepare(dir, "prod", nodes, List.of("10.0.0.9", "etcd.example", "::1"));
        Credential etcd = new Credential(Pem.readCertificate(pki.etcdFolder().resolve("cert.pem")),
                Pem.readKey(pki.etcdFolder().resolve("key.pem")));
        assertThat(pki.authority().signed(etcd.certificate())).isTrue();
        assertThat(etcd.certificate().getSubjectAlternativeNames()).extracting(l -> (Object) l.get(1))
                .containsExactlyInAnyOrder("10.0.0.9", "etcd.example", "0:0:0:0:0:0:0:1");
        // etcd's own gateway dials etcd with it, so it is a client certificate too
        assertThat(etcd.certificate().getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
        assertThat(Identity.of(etcd.certificate())).as("an agent lets no one in with etcd's certificate").isEmpty();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(pki.etcdFolder().resolve("key.pem"))))
                .isEqualTo("rw-------");
        assertThat(pki.states()).extracting(ClusterPki.CertificateState::who).contains("etcd server");
    }

    @Test
    void prepareAgainKeepsTheCaAndIssuesOnlyWhatIsMissing() throws Exception {
        ClusterPki first = ClusterPki.prepare(dir, "prod", List.of(), List.of("10.0.0.9"));
        byte[] ca = Files.readAllBytes(first.caCertFile());
        byte[] etcd = Files.readAllBytes(first.etcdFolder().resolve("cert.pem"));
        ClusterPki again = ClusterPki.prepare(dir, "prod", nodes, List.of("10.0.0.9"));
        assertThat(Files.readAllBytes(again.caCertFile())).isEqualTo(ca);
        assertThat(Files.readAllBytes(again.etcdFolder().resolve("cert.pem"))).isEqualTo(etcd);
        assertThat(again.authority().signed(again.node("a").certificate())).isTrue();
        // another endpoint: etcd's certificate must name it, so it is issued anew
        ClusterPki.prepare(dir, "prod", nodes, List.of("10.0.0.9", "10.0.0.10"));
        assertThat(Pem.readCertificate(again.etcdFolder().resolve("cert.pem")).getSubjectAlternativeNames())
                .extracting(l -> (Object) l.get(1)).contains("10.0.0.10");
        assertThatThrownBy(() -> ClusterPki.prepare(dir, "other", nodes, List.of()))
                .isInstanceOf(PkiException.class).hasMessageContaining("CA of another cluster");
    }

    /** The group a QEMU TLS server loads instead of searching for one: PKCS#3, a 2048-bit safe prime. */
    @Test
    void dhParametersAreASafePrimeGroup() throws Exception {
        String pem = Pem.dhParameters();
        assertThat(pem).startsWith("-----BEGIN DH PARAMETERS-----");
        byte[] der = new org.bouncycastle.util.io.pem.PemReader(new java.io.StringReader(pem)).readPemObject().getContent();
        var group = org.bouncycastle.asn1.pkcs.DHParameter.getInstance(der);
        java.math.BigInteger p = group.getP();
        assertThat(p.bitLength()).isEqualTo(2048);
        assertThat(group.getG()).isEqualTo(java.math.BigInteger.TWO);
        assertThat(p.isProbablePrime(32)).isTrue();
        assertThat(p.shiftRight(1).isProbablePrime(32)).as("(p-1)/2 is prime too").isTrue();
    }
}
