package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.testkit.etcd.EtcdServer;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * An etcd the user runs without TLS still holds a cluster ({@code etcd://}), and every place that
 * shows the cluster says that anyone who reaches its port can rewrite the records: {@code cluster
 * create}, {@code cluster status} and {@code doctor --cluster}.
 */
@Timeout(120)
class PlainEtcdCliTest {
    @TempDir
    Path tmp;

    @Test
    void aPlainEtcdWorksAndIsWarnedAboutWhereverTheClusterIsShown() throws Exception {
        String why = EtcdServer.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "etcd unavailable: " + why);
        try (EtcdServer etcd = EtcdServer.startOnLoopback(tmp.resolve("etcd"))) {
            Path dir = tmp.resolve("c");
            FerryCli.Run created = ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port",
                    Integer.toString(FerryCli.twoFreePorts()), "--store", etcd.storeAddress());
            assertThat(created.code()).as(created.both()).isZero();
            assertThat(created.err()).contains("without TLS").contains("etcds://");
            assertThat(dir.resolve("pki/etcd")).as("no etcd certificate for a plain store").doesNotExist();

            FerryCli.Run status = ferry(dir, "cluster", "status", "--json");
            assertThat(status.code()).as("no agent runs").isEqualTo(Main.FAILED);
            JsonNode j = status.json();
            assertThat(j.path("store").asText()).isEqualTo("etcd " + etcd.storeAddress());
            assertThat(j.path("store_tls").asBoolean()).isFalse();
            assertThat(j.path("store_warning").asText()).contains("anyone who reaches its port");
            assertThat(ferry(dir, "cluster", "status").out()).contains("WARNING: the cluster's records are in etcd "
                    + "without TLS");

            FerryCli.Run doctor = ferry("doctor", "--json", "--cluster", dir.toString());
            assertThat(doctor.json().path("store_warning").asText()).contains("without TLS");
        }
    }
}
