package ferry.cli;

import ferry.agent.AgentClient;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code ferry task log|cancel ID}: a migration task on the node that runs it. */
@Command(name = "task", mixinStandardHelpOptions = true, description = "Shows or cancels a migration task.",
        subcommands = {TaskCommand.Log.class, TaskCommand.Cancel.class})
final class TaskCommand {
    /** Task ids name their node: migrate-NODE-VMID-TIME-SEQ. */
    static String nodeOf(String taskId) {
        String[] parts = taskId.split("-");
        if (parts.length < 5 || !parts[0].equals("migrate")) {
            throw new UsageError("'" + taskId + "' is not a task id (they look like migrate-a-100-1700000000000-1)");
        }
        return String.join("-", java.util.Arrays.copyOfRange(parts, 1, parts.length - 3));
    }

    @Command(name = "log", mixinStandardHelpOptions = true, description = "Prints a task's log, following it until it ends.")
    static final class Log implements Callable<Integer> {
        @Mixin
        ClusterOption cluster;

        @Parameters(paramLabel = "TASK")
        String id;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            AgentClient agent = cluster.agent(nodeOf(id));
            return TaskFollower.exitCode(new TaskFollower(agent, id, spec.commandLine().getOut(), false, false).follow());
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
