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

/** {@code ferry cluster create|up|down|status}: a cluster of nodes on this host, with local agents. */
@Command(name = "cluster", mixinStandardHelpOptions = true,
        description = "Creates a cluster folder and starts, stops or shows its local agents.",
        subcommands = {ClusterCommand.Create.class, ClusterCommand.Up.class, ClusterCommand.Down.class,
                ClusterCommand.Status.class})
final class ClusterCommand {
    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Creates a cluster folder: nodes with agents on 127.0.0.1 from --port on, a token,",
                    "and two storages ('local' per node, 'shared' for all)."})
    static final class Create implements Callable<Integer> {
        @Parameters(paramLabel = "DIR", description = "The new cluster folder.")
        Path dir;

        @Option(names = "--nodes", required = true, split = ",", description = "Node names, e.g. a,b.")
        List<String> nodes;

        @Option(names = "--port", defaultValue = "8640", description = "Agent port of the first node (default ${DEFAULT-VALUE}).")
        int port;

        @Option(names = "--name", defaultValue = "ferry", description = "Cluster name (default ${DEFAULT-VALUE}).")
        String name;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            ClusterLayout.create(dir, name, nodes, port);
            spec.commandLine().getOut().printf("created cluster '%s' in %s with nodes %s; start the agents with "
                    + "'ferry cluster up --cluster %s'%n", name, dir.toAbsolutePath(), String.join(", ", nodes), dir);
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
                    "First it asks every node's agent for its running migrations (outgoing and",
                    "incoming alike: each runs as a task of its source) and waits until none",
                    "runs; after --timeout it refuses (exit 1) and stops nothing."})
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

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Shows each node's agent and VMs.")
    static final class Status implements Callable<Integer> {
        @Mixin
        ClusterOption cluster;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            int down = 0;
            try (ClusterStore s = cluster.store()) {
                out.printf("cluster '%s' (%s)%n", s.config().name(), cluster.dir.toAbsolutePath());
                for (NodeInfo n : s.config().nodes()) {
                    boolean up = AgentProcess.answers(cluster.agent(n.name()));
                    down += up ? 0 : 1;
                    out.printf("  node %-10s agent %-21s %-5s VMs: %d%n", n.name(), n.agentAddress(), up ? "up" : "DOWN",
                            s.vmsOf(n.name()).size());
                }
            }
            return down == 0 ? Main.OK : Main.FAILED;
        }
    }
}
