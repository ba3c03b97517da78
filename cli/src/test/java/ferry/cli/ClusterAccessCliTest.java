package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cluster ui} and {@code cluster prometheus-config}: what they print comes from the
 * folder's own files (no agent needed), and a cluster made before those files gets them.
 */
class ClusterAccessCliTest {
    @TempDir
    Path tmp;

    @Test
    void uiPrintsEveryNodesAddressAndThePasswordFile() throws Exception {
        Path dir = tmp.resolve("c");
        assertThat(ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port", "18740").code()).isZero();
        Path password = dir.resolve("pki/ui-password");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(password))).isEqualTo("rw-------");

        FerryCli.Run r = ferry(dir, "cluster", "ui", "--json");
        assertThat(r.code()).as(r.both()).isZero();
        JsonNode j = r.json();
        assertThat(j.path("password").asText()).isEqualTo(Files.readString(password).strip()).hasSizeGreaterThan(40);
        assertThat(j.path("nodes").findValuesAsText("url")).containsExactly("https://127.0.0.1:18740/ui/",
                "https://127.0.0.1:18741/ui/");
        assertThat(j.path("ca_file").asText()).endsWith("pki/ca-cert.pem");

        // a cluster from before: the file is made, once
        Files.delete(password);
        String again = ferry(dir, "cluster", "ui").out();
        assertThat(again).contains("node a").contains("https://127.0.0.1:18741/ui/")
                .contains("password: " + Files.readString(password).strip());
        assertThat(ferry(dir, "cluster", "ui", "--json").json().path("password").asText())
                .isEqualTo(Files.readString(password).strip());
    }

    @Test
    void prometheusConfigNamesEveryTargetTheCaAndTheTokenFile() throws Exception {
        Path dir = tmp.resolve("c");
        assertThat(ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port", "18750").code()).isZero();
        FerryCli.Run r = ferry(dir, "cluster", "prometheus-config");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("scheme: https")
                .contains("ca_file: \"" + dir.toAbsolutePath().resolve("pki/ca-cert.pem") + "\"")
                .contains("credentials_file: \"" + dir.toAbsolutePath().resolve("pki/metrics-token") + "\"")
                .contains("- targets: [\"127.0.0.1:18750\"]").contains("labels: {node: \"a\", cluster: \"ferry\"}")
                .contains("- targets: [\"127.0.0.1:18751\"]").contains("scrape_interval: 15s");
        assertThat(ferry(dir, "cluster", "prometheus-config", "--files-in", "/etc/prometheus/ferry").out())
                .contains("credentials_file: \"/etc/prometheus/ferry/metrics-token\"")
                .contains("ca_file: \"/etc/prometheus/ferry/ca-cert.pem\"");
        FerryCli.Run bad = ferry(dir, "cluster", "prometheus-config", "--interval", "0");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("--interval").contains("must be a whole number above zero, got '0'");

        // Prometheus' own checker takes it, where Prometheus is installed
        Path promtool = Path.of("/usr/bin/promtool");
        if (Files.isExecutable(promtool)) {
            Path yml = tmp.resolve("prometheus.yml");
            Files.writeString(yml, r.out());
            Process p = new ProcessBuilder(promtool.toString(), "check", "config", yml.toString()).redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).as(out).isZero();
        } else {
            System.out.println("ClusterAccessCliTest: promtool is not installed; the configuration's syntax is not "
                    + "checked by Prometheus here");
        }
    }
}
