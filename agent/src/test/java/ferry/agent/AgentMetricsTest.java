package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.cluster.pki.AccessTokens;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /metrics} scraped as Prometheus does (the cluster's CA, no client certificate, the
 * bearer token of {@code pki/metrics-token}) while a real migration runs: the running gauges
 * appear and move, and its end shows in the counters and histograms.
 */
class AgentMetricsTest {
    /** 16 MiB dirtied slowly (the drill's calm guest): ~2 MB/s on a busy host, ~5 MiB/s on a quiet one. */
    static final BootblockGuest CALM = new BootblockGuest(128, Bootblock.REGION_START + (16L << 20), 400_000);

    @TempDir
    Path dir;

    @Test
    void scrapedDuringAMigrationTheFiguresMove() throws Exception {
        try (LocalCluster c = new LocalCluster(dir.resolve("c"), "a", "b")) {
            AccessTokens tokens = AccessTokens.in(c.layout.dir());
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tokens.metricsTokenFile())))
                    .isEqualTo("rw-------");
            String bearer = "Bearer " + tokens.metricsToken().orElseThrow();
            NoCertificateClient prometheus = new NoCertificateClient(c.address("a"), c.layout.pki());

            // what the token opens, and what it does not
            assertThat(prometheus.get("/metrics").statusCode()).isEqualTo(401);
            HttpResponse<String> wrong = prometheus.get("/metrics", "Authorization", "Bearer nope");
            assertThat(wrong.statusCode()).isEqualTo(401);
            assertThat(wrong.body()).contains("not the cluster's metrics token");
            HttpResponse<String> api = prometheus.get("/api/v1/vms", "Authorization", bearer);
            assertThat(api.statusCode()).as("the token is for scraping only").isEqualTo(401);
            assertThat(api.body()).doesNotContain("vmid");

            AgentClient a = c.defineOnA(100, "calm", CALM);
            a.post("/api/v1/vms/100/start", null);
            // its 16 MiB written once: at 4 MiB/s pre-copy lasts 4 s or more, two or more of the task's samples
            BootblockGuest.awaitPasses(c.layout.runRoot("a").resolve("100").resolve("serial.log"), 1,
                    Duration.ofSeconds(60));
            String idle = scrape(prometheus, bearer);
            assertThat(value(idle, "ferry_node_vms", "state=\"running\"")).hasValue(1);
            assertThat(value(idle, "ferry_node_migrations_in_flight", "")).hasValue(0);

            // on a quiet host the guest dirties ~5 MiB/s, more than the link: postcopy lets it finish whatever
            // the host's speed, after a pre-copy long enough to scrape
            JsonNode task = a.migrate(new ObjectMapper().createObjectNode().put("vmid", 100).put("target", "b")
                    .put("online", true).put("bwlimit", 4).put("allow_postcopy", true));
            String id = task.path("id").asText();
            List<Double> remaining = new ArrayList<>();
            List<Double> processed = new ArrayList<>();
            String during = null;
            long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
            while (System.nanoTime() < deadline && a.get("/api/v1/tasks/" + id).path("status").asText().equals("running")) {
                String text = scrape(prometheus, bearer);
                OptionalDouble left = value(text, "ferry_vmi_migration_data_remaining_bytes", "vmid=\"100\"");
                OptionalDouble sent = value(text, "ferry_vmi_migration_data_processed_bytes", "vmid=\"100\"");
                // the gauges appear one by one at the first sample: a scrape may fall between two
                if (left.isPresent() && sent.isPresent() && text.contains("ferry_vmi_migration_throttle_percent{")) {
                    during = text;
                    remaining.add(left.getAsDouble());
                    processed.add(sent.getAsDouble());
                }
                Thread.sleep(500);
            }
            JsonNode done = c.await("a", id, Duration.ofMinutes(2));
            assertThat(done.path("status").asText()).as(done.toPrettyString()).isEqualTo("completed");
            System.out.println("/metrics during the migration:\n" + during);

            assertThat(during).as("a scrape while the stream ran").isNotNull();
            assertThat(processed).as("bytes sent, scrape by scrape").hasSizeGreaterThanOrEqualTo(2);
            assertThat(processed.get(processed.size() - 1)).as("the bytes sent grew").isGreaterThan(processed.get(0));
            assertThat(remaining.stream().distinct().count()).as("the remaining bytes moved").isGreaterThan(1);
            assertThat(value(during, "ferry_vmi_migration_memory_transfer_rate_bytes_per_second", "vmid=\"100\"")
                    .orElseThrow()).as("link rate near the 4 MiB/s limit").isBetween(1.0 * (1 << 20), 8.0 * (1 << 20));
            assertThat(value(during, "ferry_vmi_migration_downtime_limit_seconds", "vmid=\"100\"").orElseThrow())
                    .isBetween(0.01, 1.0);
            assertThat(value(during, "ferry_vmi_migration_dirty_memory_rate_bytes_per_second", "vmid=\"100\"")).isPresent();
            assertThat(value(during, "ferry_vmi_migration_throttle_percent", "vmid=\"100\"")).isPresent();
            assertThat(value(during, "ferry_node_migrations_in_flight", "")).hasValue(1);
            assertThat(during).contains("policy=\"budget\"").contains("target=\"b\"").contains("source=\"a\"");

            String after = scrape(prometheus, bearer);
            assertThat(after).as("the running gauges go with the migration")
                    .doesNotContain("ferry_vmi_migration_data_remaining_bytes{");
            assertThat(value(after, "ferry_migrations_started_total", "policy=\"budget\"")).hasValue(1);
            assertThat(value(after, "ferry_migrations_ended_total", "outcome=\"completed\"")).hasValue(1);
            assertThat(value(after, "ferry_migration_duration_seconds_count", "outcome=\"completed\"")).hasValue(1);
            assertThat(value(after, "ferry_migration_duration_seconds_sum", "outcome=\"completed\"").orElseThrow())
                    .isCloseTo(done.at("/result/duration_ms").asLong() / 1000.0, org.assertj.core.data.Offset.offset(0.01));
            assertThat(value(after, "ferry_migration_downtime_seconds_bucket", "le=\"5.0\"")).hasValue(1);
            assertThat(value(after, "ferry_migration_data_processed_bytes_total", "policy=\"budget\""))
                    .as("every byte QEMU reported sent").hasValue(done.at("/result/transferred_bytes").asDouble());
            assertThat(value(after, "ferry_node_migrations_in_flight", "")).hasValue(0);
            assertThat(value(after, "ferry_node_vms", "state=\"running\"")).as("the VM is b's now").hasValue(0);
        }
    }

    static String scrape(NoCertificateClient prometheus, String bearer) throws Exception {
        HttpResponse<String> r = prometheus.get("/metrics", "Authorization", bearer);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        return r.body();
    }

    /** The value of the first sample of {@code metric} whose labels contain {@code label}. */
    static OptionalDouble value(String exposition, String metric, String label) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(metric) + "(\\{[^}]*})? (\\S+)$").matcher(exposition);
        while (m.find()) {
            if (label.isEmpty() || m.group(1) != null && m.group(1).contains(label)) {
                return OptionalDouble.of(Double.parseDouble(m.group(2)));
            }
        }
        return OptionalDouble.empty();
    }
}
