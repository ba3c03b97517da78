package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.ClusterLayout;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ferry cluster create|up|down|status|add-node|set-qemu|rotate-certs|ui|prometheus-config}: a cluster of
 * nodes, its
 * certificates, and the agents on this host.
 */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = "Creates a cluster folder and starts, stops or shows its local agents.",
        subcommands = {ClusterCommand.Create.class, ClusterCommand.Up.class, ClusterCommand.Down.class,
                ClusterCommand.Status.class, ClusterAddNode.class, ClusterSetQemu.class, ClusterRotateCerts.class,
                ClusterUi.class, ClusterPrometheusConfig.class})
final class ClusterCommand {
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Creates a cluster folder: nodes with agents on 127.0.0.1 from --port on (or on the addresses "
                + "--address gives), two storages ('local' per node, 'shared' for all), and the cluster's CA with "
                + "a certificate for each node and one for the admin (pki/; keys 0600): agents speak HTTPS and let "
                + "in only clients with a certificate of this CA, or a browser logged in with pki/ui-password ('ferry "
                + "cluster ui') and Prometheus with pki/metrics-token ('ferry cluster prometheus-config'), both 0600.",
                "The records (nodes, VMs, locks, journals, liveness) live in the folder itself, for nodes on one "
                + "host, or in etcd for nodes on several hosts: then the folder only points to etcd; copy it to "
                + "every host. With --store etcds://HOST:PORT etcd is reached over mutual TLS: this also issues "
                + "etcd's server certificate (pki/etcd/); start etcd with it (--cert-file --key-file, "
                + "--trusted-ca-file pki/ca-cert.pem, --client-cert-auth) before or after a first try, and run the "
                + "command again: it keeps the certificates it made."})
    static final class Create implements Callable<Integer> {
        @Parameters(paramLabel = "DIR", description = "The new cluster folder.")
        Path dir;

        @Option(names = "--nodes", required = true, split = ",", description = "Node names, e.g. a,b.")
        List<String> nodes;

        @Option(names = "--port", defaultValue = "8640", description = "Agent port of the first node (default ${DEFAULT-VALUE}).")
        int port;

        @Option(names = "--name", defaultValue = "ferry", description = "Cluster name (default ${DEFAULT-VALUE}).")
        String name;

        @Option(names = "--store", paramLabel = "STORE", defaultValue = "dir",
                description = {"Where the records live: 'dir' (the folder, default), etcds://HOST:PORT[,HOST:PORT...] (etcd "
                + "over mutual TLS with the cluster's certificates), or etcd://HOST:PORT[,...] (an etcd without "
                + "TLS: a warning); the cluster's name is its key prefix there."})
        String store;

        @Option(names = "--address", paramLabel = "NODE=HOST", split = ",",
                description = {"A node's address on its host (its agent listens on HOST and the --port of the node, and "
                + "migration streams to it use HOST), e.g. a=10.0.0.1,b=10.0.0.2; nodes not named use 127.0.0.1."})
        java.util.Map<String, String> addresses = new java.util.LinkedHashMap<>();

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (port < 1 || port + nodes.size() - 1 > 65535) {
                throw new UsageError("--port must leave room for " + nodes.size() + " consecutive ports within 1-65535 "
                        + "(node i listens on PORT + i), got " + port);
            }
            for (String n : addresses.keySet()) {
                if (!nodes.contains(n)) {
                    throw new UsageError("--address names node '" + n + "', which is not in --nodes " + nodes);
                }
            }
            List<NodeInfo> members = new java.util.ArrayList<>();
            for (int i = 0; i < nodes.size(); i++) {
                String host = addresses.getOrDefault(nodes.get(i), "127.0.0.1");
                String agent = host.contains(":") ? "[" + host + "]:" + (port + i) : host + ":" + (port + i);
                members.add(new NodeInfo(nodes.get(i), agent, host));
            }
            ferry.cluster.StoreAddress where = ferry.cluster.StoreAddress.parse(store);
            ClusterLayout.create(dir, name, members, where);
            StoreWarning.of(where).ifPresent(w -> spec.commandLine().getErr().println("ferry: warning: " + w));
            spec.commandLine().getOut().printf("created cluster '%s' in %s with nodes %s (records: %s; certificates: "
                    + "%s); start the agents with 'ferry cluster up --cluster %s' ('ferry cluster ui' prints the web UI's "
                    + "addresses and password)%n", name, dir.toAbsolutePath(),
                    String.join(", ", nodes), where.isEtcd() ? "etcd " + where : "the folder",
                    ferry.cluster.pki.ClusterPki.in(dir).folder(), dir);
            return Main.OK;
        }
    }

    @Command(name = "up", mixinStandardHelpOptions = true,
            description = "Starts every node's agent of the cluster in the background (log: DIR/logs/agent-NODE.log).")
    static final class Up implements Callable<Integer> {
        @Mixin
        ClusterOption cluster;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            ClusterLayout layout = cluster.layout();
            PrintWriter out = spec.commandLine().getOut();
            List<NodeInfo> nodes;
            try (ClusterStore s = layout.open()) {
                nodes = s.config().nodes();
            }
            for (NodeInfo n : nodes) {
                if (AgentProcess.answers(cluster.agent(n.name()))) {
                    out.printf("node %s: agent already running at %s%n", n.name(), n.agentAddress());
                    continue;
                }
                AgentProcess p = AgentProcess.start(layout, n.name(), List.of(), java.time.Duration.ofSeconds(30));
                out.printf("node %s: agent started at %s (pid %d)%n", n.name(), n.agentAddress(), p.pid());
            }
            return Main.OK;
        }
    }

    @Command(name = "down", mixinStandardHelpOptions = true,
            description = {"Stops the local agents once no migration runs; VMs keep running.",
                "First it asks every node's agent for its running migrations (outgoing and incoming alike: each "
                + "runs as a task of its source) and waits until none runs; after --timeout it refuses (exit 1) "
                + "and stops nothing."})
    static final class Down implements Callable<Integer> {
        @Mixin
        ClusterOption cluster;

        @Option(names = "--timeout", paramLabel = "S", defaultValue = "600",
                description = "How long to wait for running migrations to end (default ${DEFAULT-VALUE} s).")
        int timeout;

        @Option(names = "--no-wait", description = "Refuse at once (exit 2, nothing stopped) if any migration runs.")
        boolean noWait;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            if (timeout < 0) {
                throw new UsageError("--timeout must be 0 or more seconds, got " + timeout);
            }
            ClusterLayout layout = cluster.layout();
            PrintWriter out = spec.commandLine().getOut();
            try (ClusterStore s = layout.open()) {
                List<String> nodes = s.config().nodeNames();
                MigrationsWait wait = new MigrationsWait(() -> ClusterTasks.askRunning(cluster, nodes).running(), out,
                        Duration.ofSeconds(1));
                List<JsonNode> left = wait.await(noWait ? Duration.ZERO : Duration.ofSeconds(timeout));
                if (!left.isEmpty()) {
                    String tasks = left.stream().map(ClusterTasks::describe).collect(Collectors.joining(", "));
                    String why = noWait ? "migrations run: " : "migrations still run after " + timeout + " s: ";
                    String message = "not stopping any agent: " + why + tasks + "; wait for them ('ferry task log ID') "
                            + "or cancel them ('ferry task cancel ID'), then run 'ferry cluster down' again";
                    if (noWait) {
                        throw new UsageError(message);
                    }
                    spec.commandLine().getErr().println("ferry: " + message);
                    return Main.FAILED;
                }
                for (NodeInfo n : s.config().nodes()) {
                    Path pidFile = layout.agentPidFile(n.name());
                    Optional<ProcessHandle> h = Files.exists(pidFile)
                            ? ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip())) : Optional.empty();
                    if (h.isEmpty() || !h.get().isAlive()) {
                        out.printf("node %s: no agent running%n", n.name());
                        Files.deleteIfExists(pidFile);
                        continue;
                    }
                    h.get().destroy();
                    h.get().onExit().get(15, java.util.concurrent.TimeUnit.MINUTES);
                    Files.deleteIfExists(pidFile);
                    out.printf("node %s: agent stopped%n", n.name());
                }
            }
            return Main.OK;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Shows each node: whether its agent answers, whether its liveness claim in the cluster store is "
                + "current (a node whose claim lapsed is DOWN: peers act for its migrations), its VMs, the memory it can "
                + "give VMs, whether it is in maintenance (no migration goes to it), its QEMU version (and its own "
                + "QEMU's binary when 'cluster set-qemu' gave it one), the "
                + "certificates and when they expire, and the migrations left open. Exit 1 if a node is down."})
    static final class Status implements Callable<Integer> {
        @Mixin
        ClusterOption cluster;

        @Option(names = "--json", description = "Print one JSON object instead.")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            int down = 0;
            var report = VmCommand.JSON.createObjectNode();
            try (ClusterStore s = cluster.store()) {
                java.util.Set<String> live = s.liveNodes();
                ferry.cluster.StoreAddress where = cluster.layout().storeAddress();
                report.put("cluster", s.config().name()).put("store", s.location()).put("store_tls", where.isTls());
                var nodesJson = report.putArray("nodes");
                if (!json) {
                    out.printf("cluster '%s' (%s; records: %s%s)%n", s.config().name(), cluster.dir.toAbsolutePath(),
                            s.location(), where.isTls() ? ", over mutual TLS" : "");
                }
                StoreWarning.of(where).ifPresent(w -> {
                    report.put("store_warning", w);
                    if (!json) {
                        out.printf("  WARNING: %s%n", w);
                    }
                });
                String noAdmin = adminProblem();
                if (noAdmin != null) {
                    report.put("admin_certificate_problem", noAdmin);
                    if (!json) {
                        out.printf("  cannot ask the agents: %s%n", noAdmin);
                    }
                }
                for (NodeInfo n : s.config().nodes()) {
                    JsonNode info = noAdmin == null ? AgentProcess.nodeInfo(cluster.agent(n.name())) : null;
                    boolean answers = info != null;
                    boolean alive = live.contains(n.name());
                    down += answers && alive ? 0 : 1;
                    int vms = s.vmsOf(n.name()).size();
                    var node = nodesJson.addObject().put("name", n.name()).put("agent", n.agentAddress())
                            .put("answers", answers).put("alive", alive).put("maintenance", n.maintenance())
                            .put("vms", vms);
                    // what a migration here may still take; null when the agent did not say
                    node.set("mem_for_vms_bytes", info == null ? null : info.get("mem_for_vms_bytes"));
                    // the version only a running agent knows; the binary is the config's (null: the installed one)
                    String version = answers ? info.path("qemu").asText() : null;
                    node.putObject("qemu").put("version", version).put("binary", n.qemu() == null
                            ? (answers ? info.path("qemu_binary").asText(null) : null) : n.qemu().binary())
                            .put("own_installation", n.qemu() != null);
                    if (!json) {
                        out.printf("  node %-10s agent %-21s %-7s lease %-7s VMs: %-3d QEMU %s%s%s%s%n", n.name(),
                                n.agentAddress(), answers ? "up" : "DOWN", alive ? "alive" : "LAPSED", vms,
                                version != null ? version : "?", n.qemu() != null ? " (" + n.qemu().binary() + ")" : "",
                                info != null && info.has("mem_for_vms_bytes")
                                        ? String.format(java.util.Locale.ROOT, "  memory for VMs: %.1f GiB",
                                                info.path("mem_for_vms_bytes").asLong() / (double) (1L << 30)) : "",
                                n.maintenance() ? "  MAINTENANCE (no migration goes to it; 'ferry node resume "
                                        + n.name() + "')" : "");
                    }
                }
                java.time.Instant now = java.time.Instant.now();
                report.set("certificates", CertificateReport.json(cluster.layout().pki(), now));
                if (!json) {
                    CertificateReport.print(cluster.layout().pki(), now, out);
                }
                var open = report.putArray("open_migrations");
                for (String id : s.openJournals()) {
                    List<com.fasterxml.jackson.databind.node.ObjectNode> entries = s.journal(id);
                    var first = entries.get(0);
                    var last = entries.get(entries.size() - 1);
                    String src = first.path("source").asText();
                    var o = open.addObject().put("task", id).put("vmid", first.path("vmid").asInt()).put("source", src)
                            .put("target", first.path("target").asText()).put("last_step", last.path("kind").asText())
                            .put("source_alive", live.contains(src));
                    if (last.has("left")) {
                        o.put("left", last.path("left").asText());
                    }
                    if (!json) {
                        out.printf("  open migration %s: VM %d %s -> %s, at '%s'%s%s%n", id, first.path("vmid").asInt(), src,
                                first.path("target").asText(), last.path("kind").asText(),
                                live.contains(src) ? "" : " (node '" + src + "' is down)",
                                last.has("left") ? "; left: " + last.path("left").asText() : "");
                    }
                }
            }
            if (json) {
                out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(report));
            }
            return down == 0 ? Main.OK : Main.FAILED;
        }

        /** Why the admin's certificate cannot be used here (missing, expired), or null. */
        private String adminProblem() {
            try {
                ferry.agent.AgentCredentials.admin(cluster.layout().dir());
                return null;
            } catch (ferry.cluster.pki.PkiException e) {
                return e.getMessage();
            }
        }
    }
}
