package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.cluster.ClusterStore;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry task list|log|cancel}: migration tasks, each on the node that runs it. */
@Command(name = "task", mixinStandardHelpOptions = true, description = "Lists, shows or cancels migration tasks.",
        subcommands = {TaskCommand.ListTasks.class, TaskCommand.Log.class, TaskCommand.Cancel.class})
final class TaskCommand {
    /** Task ids name their node: migrate-NODE-VMID-TIME-SEQ, or an evacuation's evacuate-NODE-TIME-SEQ. */
    static String nodeOf(String taskId) {
        String[] parts = taskId.split("-");
        boolean migration = parts.length >= 5 && parts[0].equals("migrate");
        if (!migration && !(parts.length >= 4 && parts[0].equals("evacuate"))) {
            throw new UsageError("'" + taskId + "' is not a task id (they look like migrate-a-100-1700000000000-1, "
                    + "or evacuate-a-1700000000000-1 for an evacuation started from the web UI)");
        }
        return String.join("-", java.util.Arrays.copyOfRange(parts, 1, parts.length - (migration ? 3 : 2)));
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"Lists the migration tasks of every node (or of --node), oldest first; --running: only "
                + "those running now.",
                "Running ones, and ended ones from the cluster's journals with their outcome ('interrupted': "
                + "unfinished and no task runs it; its node's agent resolves it when it starts). Nodes whose agent "
                + "does not answer are named; exit code 1."})
    static final class ListTasks implements Callable<Integer> {
        private static final String ROW = "%-40s %-6s %-7s %-7s %-19s %-17s %s%n";

        @Mixin
        ClusterOption cluster;

        @Option(names = "--node", paramLabel = "NODE", description = "Only this node's tasks.")
        String node;

        @Option(names = "--running", description = "Only the tasks running now (each agent answers from memory: "
                + "cheap, and no journal is read).")
        boolean running;

        @Option(names = "--json", description = "Print one JSON array of tasks (id, node, vmid, source, target, "
                + "status, started in epoch ms, last_step).")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            List<String> nodes;
            try (ClusterStore s = cluster.store()) {
                nodes = node != null ? List.of(node) : s.config().nodeNames();
            }
            cluster.agent(nodes.get(0)); // an unknown --node is bad usage, before asking anyone
            ClusterTasks tasks = running ? ClusterTasks.askRunning(cluster, nodes) : ClusterTasks.ask(cluster, nodes);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(tasks.all()));
            } else {
                out.printf(ROW, "TASK", "VM", "SOURCE", "TARGET", "STARTED", "STATUS", "LAST STEP");
                for (JsonNode t : tasks.all()) {
                    out.printf(ROW, t.path("id").asText(), t.path("vmid").asText(), t.path("source").asText(),
                            t.path("target").asText(), started(t), t.path("status").asText(),
                            t.path("last_step").asText("-"));
                }
            }
            int down = 0;
            PrintWriter notes = json ? spec.commandLine().getErr() : out;
            for (ClusterTasks.Answer a : tasks.answers()) {
                if (!a.answered()) {
                    down++;
                    notes.printf("node %s: agent does not answer, its tasks are not listed (%s)%n",
                            a.node(), a.error());
                }
            }
            return down == 0 ? Main.OK : Main.FAILED;
        }

        private static String started(JsonNode t) {
            long ms = t.path("started").asLong();
            return ms == 0 ? "-" : DateTimeFormatter.ISO_LOCAL_DATE_TIME.format(
                    LocalDateTime.ofInstant(Instant.ofEpochMilli(ms), ZoneId.systemDefault()).withNano(0));
        }
    }

    @Command(name = "log", mixinStandardHelpOptions = true,
            description = {"Prints a task's log, following it until it ends.",
                "Exit codes as for 'ferry migrate' (4: a hand-over is pending, or the agent stopped answering "
                + "and did not come back)."})
    static final class Log implements Callable<Integer> {
        @Mixin
        ClusterOption cluster;

        @Mixin
        ReconnectOption reconnect;

        @Parameters(paramLabel = "TASK")
        String id;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            String node = nodeOf(id);
            TaskFollower follower = new TaskFollower(cluster.agent(node), node, id, spec.commandLine().getOut(), false,
                    false).reconnect(reconnect.duration(), spec.commandLine().getErr());
            return TaskFollower.exitCode(follower.follow());
        }
    }

    @Command(name = "cancel", mixinStandardHelpOptions = true,
            description = "Cancels a running migration; it cleans up and the VM stays where it was.")
    static final class Cancel implements Callable<Integer> {
        @Mixin
        ClusterOption cluster;

        @Parameters(paramLabel = "TASK")
        String id;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            var t = cluster.agent(nodeOf(id)).post("/api/v1/tasks/" + id + "/cancel", null);
            spec.commandLine().getOut().printf("cancel requested for %s (status: %s)%n", id, t.path("status").asText());
            return Main.OK;
        }
    }
}
