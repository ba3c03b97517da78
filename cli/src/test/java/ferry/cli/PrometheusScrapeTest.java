package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.agent.Agent;
import ferry.agent.ClusterLayout;
import ferry.node.LocalNode;
import ferry.node.QemuBinary;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's real Prometheus server scrapes a two-node cluster with exactly the configuration
 * {@code ferry cluster prometheus-config} prints (https, the cluster's CA, the bearer token file),
 * four times a second, on loopback, while a VM migrates: it must see both nodes up and the migration's
 * figures move. Opt-in (tag "long", ~30 s): Prometheus is not part of install-deps; skipped with
 * the reason when it is not installed.
 */
@Tag("long")
@Timeout(180)
class PrometheusScrapeTest {
    @TempDir
    Path tmp;

    @Test
    void prometheusScrapesTheAgentsWithThePrintedConfiguration() throws Exception {
        Path prometheus = Path.of("/usr/bin/prometheus");
        Assumptions.assumeTrue(Files.isExecutable(prometheus),
                "Debian's 'prometheus' package is not installed (apt-get install prometheus; it is not in install-deps)");
        Path dir = tmp.resolve("c");
        int port = FerryCli.twoFreePorts();
        assertThat(ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port", Integer.toString(port)).code())
                .isZero();
        FerryCli.Run config = ferry("cluster", "prometheus-config", "--interval", "1", "--cluster", dir.toString());
        assertThat(config.code()).as(config.both()).isZero();
        Path yml = tmp.resolve("prometheus.yml");
        assertThat(config.out()).contains("scrape_interval: 1s");
        // a few seconds of pre-copy must give several samples: scrape faster than --interval can say
        Files.writeString(yml, config.out().replace("scrape_interval: 1s", "scrape_interval: 250ms"));

        ClusterLayout layout = new ClusterLayout(dir);
        Agent a = Agent.start(dir, "a");
        Agent b = Agent.start(dir, "b");
        int web = freePort();
        Process server = new ProcessBuilder(prometheus.toString(), "--config.file=" + yml,
                "--storage.tsdb.path=" + tmp.resolve("tsdb"), "--web.listen-address=127.0.0.1:" + web)
                .redirectErrorStream(true).redirectOutput(tmp.resolve("prometheus.log").toFile()).start();
        try {
            HttpClient http = HttpClient.newHttpClient();
            awaitValue(http, web, "sum(up{job=\"ferry\"})", 2, Duration.ofSeconds(30));

            Path def = FerryCli.bootblockVm(dir, tmp, 100, 16, 400_000);
            assertThat(ferry(dir, "vm", "create", "--node", "a", def.toString()).code()).isZero();
            assertThat(ferry(dir, "vm", "start", "100").code()).isZero();
            // its 16 MiB written once: at 4 MiB/s pre-copy lasts 4 s or more, two or more of the task's samples
            ferry.testkit.BootblockGuest.awaitPasses(layout.runRoot("a").resolve("100").resolve("serial.log"), 1,
                    Duration.ofSeconds(60));
            // postcopy allowed: on a quiet host this guest dirties more than the 4 MiB/s link carries
            FerryCli.Run moved = ferry(dir, "migrate", "100", "b", "--online", "--bwlimit", "4", "--allow-postcopy",
                    "--json");
            assertThat(moved.code()).as(moved.both()).isZero();

            awaitValue(http, web, "sum(ferry_migrations_ended_total{node=\"a\",outcome=\"completed\"})", 1,
                    Duration.ofSeconds(20));
            double samples = query(http, web,
                    "count_over_time(ferry_vmi_migration_data_remaining_bytes{node=\"a\",vmid=\"100\"}[5m])");
            double spread = query(http, web, "max_over_time(ferry_vmi_migration_data_processed_bytes{node=\"a\"}[5m])"
                    + " - min_over_time(ferry_vmi_migration_data_processed_bytes{node=\"a\"}[5m])");
            System.out.printf("prometheus: migration %d ms; %.0f samples of the remaining bytes during the migration; bytes sent grew "
                    + "by %.0f between the first and the last%n",
                    moved.json().path("duration_ms").asLong(), samples, spread);
            assertThat(samples).as("scrapes while the migration ran").isGreaterThanOrEqualTo(2);
            assertThat(spread).as("the bytes sent moved between scrapes").isPositive();
            assertThat(query(http, web, "sum(ferry_migration_downtime_seconds_count{node=\"a\"})")).isEqualTo(1);
        } finally {
            server.destroy();
            if (!server.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                server.destroyForcibly();
            }
            a.close();
            b.close();
            new LocalNode("b", QemuBinary.find(), layout.storages("b"), layout.runRoot("b")).stop(100,
                    Duration.ofSeconds(5));
            new LocalNode("a", QemuBinary.find(), layout.storages("a"), layout.runRoot("a")).stop(100,
                    Duration.ofSeconds(5));
        }
    }

    private static void awaitValue(HttpClient http, int web, String promql, double want, Duration max) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        double last = Double.NaN;
        while (System.nanoTime() < deadline) {
            try {
                last = query(http, web, promql);
                if (last == want) {
                    return;
                }
            } catch (IOException notYet) {
                // Prometheus still starting
            }
            Thread.sleep(500);
        }
        throw new AssertionError(promql + " is " + last + ", not " + want + ", after " + max);
    }

    /** The single value of an instant query; NaN when it has none. */
    private static double query(HttpClient http, int web, String promql) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + web
                + "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8))).build(),
                HttpResponse.BodyHandlers.ofString());
        JsonNode result = new ObjectMapper().readTree(r.body()).path("data").path("result");
        return result.isEmpty() ? Double.NaN : result.get(0).path("value").get(1).asDouble();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
