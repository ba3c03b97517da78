package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.cluster.etcd.EtcdClusterStore;
import ferry.cluster.etcd.EtcdTls;
import ferry.cluster.pki.ClusterPki;
import ferry.testkit.etcd.EtcdServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An etcd the user runs without TLS stays usable through {@code etcd://} (the conformance suite
 * runs over TLS; this covers the plain path end to end), and a TLS client pointed at it is told
 * that it does not speak TLS.
 */
@Timeout(120)
class PlainEtcdStoreTest {
    private static final List<NodeInfo> NODES = List.of(new NodeInfo("a", "127.0.0.1:1", "127.0.0.1"),
            new NodeInfo("b", "127.0.0.1:2", "127.0.0.1"));

    @TempDir
    Path tmp;

    @Test
    void aClusterLivesInAPlainEtcdAndATlsClientIsToldItDoesNotSpeakTls() throws Exception {
        String why = EtcdServer.unavailableReason();
        Assumptions.assumeTrue(why == null, why);
        try (EtcdServer etcd = EtcdServer.startOnLoopback(tmp.resolve("etcd"))) {
            StoreAddress address = StoreAddress.parse(etcd.storeAddress());
            assertThat(address.isTls()).isFalse();
            Path cluster = tmp.resolve("cluster");
            try (ClusterStore s = ClusterStores.create(cluster, "plain", NODES, address)) {
                s.create("a", 100, Json.MAPPER.createObjectNode().put("name", "web"));
                s.lock(100, "a", "migrate");
            }
            try (ClusterStore s = ClusterStores.open(cluster)) {
                assertThat(s.vm(100).orElseThrow().locked()).isTrue();
                assertThat(s.location()).isEqualTo("etcd etcd://" + address.etcdHosts().get(0) + ":"
                        + address.etcdEndpoints().get(0).getPort());
            }

            StoreAddress asTls = StoreAddress.parse(etcd.storeAddress().replace("etcd://", "etcds://"));
            ClusterPki pki = ClusterPki.prepare(tmp.resolve("pki-holder"), "plain", NODES, List.of());
            long start = System.nanoTime();
            try {
                EtcdClusterStore.open(asTls, "plain", Duration.ofSeconds(30), new EtcdTls(pki.caCertificate(), pki.admin()))
                        .close();
                throw new AssertionError("a TLS client got through to a plain etcd");
            } catch (ClusterException e) {
                assertThat(e.getMessage()).contains("does not speak TLS").contains("--client-cert-auth")
                        .contains("etcd://");
            }
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
        }
    }
}
