package ferry.cli;

import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import ferry.cluster.pki.AccessTokens;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ferry cluster prometheus-config}: a scrape configuration for every node's {@code /metrics}. */
@Command(name = "prometheus-config", mixinStandardHelpOptions = true,
        description = {"Prints a Prometheus scrape configuration (YAML, a whole prometheus.yml) for the /metrics of "
                + "every node's agent: scheme https, the cluster's CA as tls_config.ca_file, and the bearer token "
                + "file pki/metrics-token (written by 'cluster create', 0600; made now for a cluster created before "
                + "it) as authorization.credentials_file. The token lets Prometheus read /metrics and nothing else.",
                "Prometheus must be able to read both files: copy them where its user can (--files-in) and keep "
                + "the token's copy readable by that user only."})
final class ClusterPrometheusConfig implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Option(names = "--job", defaultValue = "ferry", description = "The scrape job's name (default ${DEFAULT-VALUE}).")
    String job;

    @Option(names = "--interval", paramLabel = "S", defaultValue = "15", converter = PositiveIntConverter.class,
            description = "Scrape interval in seconds (default ${DEFAULT-VALUE}).")
    int interval;

    @Option(names = "--files-in", paramLabel = "DIR",
            description = "Name the CA and token files as copied into DIR (ca-cert.pem, metrics-token) instead of "
                    + "their place in the cluster folder.")
    Path filesIn;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        if (!job.matches("[A-Za-z0-9_.-]+")) {
            throw new UsageError("--job takes letters, digits, '_', '.' and '-' only, got '" + job + "'");
        }
        ClusterLayout layout = cluster.layout();
        AccessTokens tokens = AccessTokens.in(layout.dir()).ensure();
        Path ca = filesIn == null ? layout.pki().caCertFile() : filesIn.toAbsolutePath().resolve("ca-cert.pem");
        Path token = filesIn == null ? tokens.metricsTokenFile()
                : filesIn.toAbsolutePath().resolve(AccessTokens.METRICS_TOKEN);
        StringBuilder y = new StringBuilder();
        try (ClusterStore s = cluster.store()) {
            y.append("# Prometheus scrape configuration for Ferry cluster '").append(s.config().name())
                    .append("' (ferry cluster prometheus-config)\n");
            y.append("global:\n  scrape_interval: ").append(interval).append("s\n");
            y.append("scrape_configs:\n");
            y.append("  - job_name: ").append(quoted(job)).append('\n');
            y.append("    scheme: https\n    metrics_path: /metrics\n");
            y.append("    tls_config:\n      ca_file: ").append(quoted(ca.toString())).append('\n');
            y.append("    authorization:\n      type: Bearer\n      credentials_file: ").append(quoted(token.toString()))
                    .append('\n');
            y.append("    static_configs:\n");
            for (NodeInfo n : s.config().nodes()) {
                y.append("      - targets: [").append(quoted(n.agentAddress())).append("]\n");
                y.append("        labels: {node: ").append(quoted(n.name())).append(", cluster: ")
                        .append(quoted(s.config().name())).append("}\n");
            }
        }
        spec.commandLine().getOut().printf("%s", y); // printf: the writer flushes on it, not on print
        return Main.OK;
    }

    /** A YAML double-quoted scalar (JSON's string syntax is a subset of it). */
    private static String quoted(String s) {
        return VmCommand.JSON.getNodeFactory().textNode(s).toString();
    }
}
