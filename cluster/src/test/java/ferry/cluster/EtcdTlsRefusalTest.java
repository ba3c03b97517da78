package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ferry.cluster.ClusterException.Reason;
import ferry.cluster.etcd.EtcdClusterStore;
import ferry.cluster.etcd.EtcdTls;
import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Identity;
import ferry.testkit.etcd.EtcdServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A TLS etcd (etcds://) lets in only clients with a certificate of the cluster's CA, and Ferry
 * says why it is turned away, with the next step, at once rather than after waiting 30 s for an
 * etcd it takes for absent.
 */
@Timeout(120)
class EtcdTlsRefusalTest {
    private static final List<NodeInfo> NODES = List.of(new NodeInfo("a", "127.0.0.1:1", "127.0.0.1"));
    /** Long: a refusal must be reported well before it runs out. */
    private static final Duration PATIENCE = Duration.ofSeconds(30);
    static TlsEtcd etcd;
    static Path folder;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startEtcd() throws Exception {
        String why = EtcdServer.unavailableReason();
        Assumptions.assumeTrue(why == null, why);
        folder = Files.createTempDirectory("ferry-etcd-tls");
        etcd = TlsEtcd.start(folder);
        try (ClusterStore s = EtcdClusterStore.create(etcd.address(), "guarded", NODES, etcd.admin())) {
            s.create("a", 100, Json.MAPPER.createObjectNode().put("name", "web"));
        }
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void theClustersAdminAndNodesAreLetIn() {
        for (EtcdTls who : List.of(etcd.admin(), etcd.node("a"), etcd.node("b"))) {
            try (ClusterStore s = EtcdClusterStore.open(etcd.address(), "guarded", PATIENCE, who)) {
                assertThat(s.vm(100)).isPresent();
            }
        }
    }

    @Test
    void etcdRefusesAClientWithoutACertificate() throws Exception {
        URI health = URI.create(etcd.server().storeAddress().replace("etcds://", "https://") + "/health");
        HttpRequest ask = HttpRequest.newBuilder(health).timeout(Duration.ofSeconds(5)).build();
        HttpClient withoutCertificate = HttpClient.newBuilder().sslContext(context(false)).build();
        assertThatThrownBy(() -> withoutCertificate.send(ask, HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);
        // the same request with the admin's certificate is answered: the refusal was for the missing one
        HttpClient withCertificate = HttpClient.newBuilder().sslContext(context(true)).build();
        assertThat(withCertificate.send(ask, HttpResponse.BodyHandlers.ofString()).body()).contains("true");
    }

    /** Trusts the cluster's CA; presents the admin's certificate or none. */
    private static SSLContext context(boolean withCertificate) throws Exception {
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", etcd.admin().ca());
        TrustManagerFactory tm = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tm.init(trust);
        KeyManagerFactory km = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        if (withCertificate) {
            keys.setKeyEntry("admin", etcd.admin().client().key(), new char[0],
                    new Certificate[] {etcd.admin().client().certificate()});
        }
        km.init(keys, new char[0]);
        SSLContext ssl = SSLContext.getInstance("TLS");
        ssl.init(km.getKeyManagers(), tm.getTrustManagers(), null);
        return ssl;
    }

    @Test
    void aNodeWithoutItsCertificateIsToldWhereToGetOne() throws Exception {
        Path cluster = tmp.resolve("cluster");
        Files.createDirectories(cluster);
        copyTree(ClusterPki.in(etcd.clusterDir()).folder(), cluster.resolve(ClusterPki.FOLDER));
        ClusterStores.create(cluster, "pointed", NODES, etcd.address()).close();
        try (ClusterStore s = ClusterStores.open(cluster, PATIENCE, Identity.node("a"))) {
            assertThat(s.config().name()).isEqualTo("pointed");
        }
        ClusterException e = assertThrows(() -> ClusterStores.open(cluster, PATIENCE, Identity.node("c")));
        assertThat(e.reason()).isEqualTo(Reason.INVALID);
        assertThat(e.getMessage()).contains("etcd speaks TLS").contains("node 'c'").contains("add-node");
    }

    @Test
    void aCertificateOfAnotherCaIsRefusedByEtcdAndFerrySaysSoAtOnce() {
        ClusterPki stranger = ClusterPki.prepare(tmp.resolve("stranger"), "stranger", NODES, List.of());
        EtcdTls strangersAdmin = new EtcdTls(etcd.admin().ca(), stranger.admin());
        long start = System.nanoTime();
        ClusterException e = assertThrows(() -> EtcdClusterStore.open(etcd.address(), "guarded", PATIENCE,
                strangersAdmin));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(PATIENCE.dividedBy(2));
        assertThat(e.reason()).isEqualTo(Reason.IO);
        assertThat(e.getMessage()).contains("refused this client's certificate").contains("--trusted-ca-file");
    }

    @Test
    void anEtcdWhoseCertificateAnotherCaSignedIsNotTrusted() {
        ClusterPki stranger = ClusterPki.prepare(tmp.resolve("stranger"), "stranger", NODES, List.of());
        EtcdTls trustsAnother = new EtcdTls(stranger.caCertificate(), etcd.admin().client());
        ClusterException e = assertThrows(() -> EtcdClusterStore.open(etcd.address(), "guarded", PATIENCE,
                trustsAnother));
        assertThat(e.getMessage()).contains("presents a certificate this client does not trust").contains("pki/etcd/");
    }

    @Test
    void aPlainClientIsToldThatEtcdSpeaksTls() {
        StoreAddress plain = StoreAddress.parse(etcd.server().storeAddress().replace("etcds://", "etcd://"));
        long start = System.nanoTime();
        ClusterException e = assertThrows(() -> EtcdClusterStore.open(plain, "guarded", PATIENCE));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(PATIENCE.dividedBy(2));
        assertThat(e.getMessage()).contains("speaks TLS only").contains("etcds://");
    }

    @Test
    void anEtcdsAddressNeedsCredentials() {
        ClusterException e = assertThrows(() -> EtcdClusterStore.open(etcd.address(), "guarded", PATIENCE));
        assertThat(e.reason()).isEqualTo(Reason.INVALID);
        assertThat(e.getMessage()).contains("speaks TLS").contains("certificate of the cluster's CA");
    }

    private static ClusterException assertThrows(Runnable r) {
        try {
            r.run();
        } catch (ClusterException e) {
            return e;
        }
        throw new AssertionError("expected a ClusterException");
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (var files = Files.walk(from)) {
            for (Path p : files.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }
}
