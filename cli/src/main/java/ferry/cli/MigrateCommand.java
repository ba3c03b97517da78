package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry migrate VMID TARGET}: moves a VM to another node, live with --online. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = {"Migrates a VM to another node. A running VM needs --online (live migration); a stopped",
                "VM moves with its local volumes copied. Exit codes: 0 completed, 1 failed (cleaned up: the VM is",
                "where it was), 2 refused or bad usage (nothing changed), 3 finished with problems (the VM moved;",
                "the log says what is left to repair)."})
final class MigrateCommand implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Parameters(index = "0", paramLabel = "VMID")
    int vmid;

    @Parameters(index = "1", paramLabel = "TARGET", description = "The target node.")
    String target;

    @Option(names = "--online", description = "Migrate a running VM live.")
    boolean online;

    @Option(names = "--force", description = "Allow local devices (stopped VMs only).")
    boolean force;

    @Option(names = "--bwlimit", paramLabel = "MiB/s", description = "Bandwidth limit (default: unlimited, 8192 MiB/s).")
    Integer bwlimit;

    @Option(names = "--downtime", paramLabel = "MS", description = "Allowed downtime at switch-over (default: the VM's, else 100 ms).")
    Integer downtime;

    @Option(names = "--json", description = "Print one JSON object when done, instead of progress and log lines.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AgentClient source = cluster.ownerOf(vmid);
        ObjectNode req = VmCommand.JSON.createObjectNode().put("vmid", vmid).put("target", target).put("online", online)
                .put("force", force);
        if (bwlimit != null) {
            req.put("bwlimit", bwlimit);
        }
        if (downtime != null) {
            req.put("downtime", downtime);
        }
        JsonNode task = source.migrate(req);
        boolean bar = !json && System.console() != null;
        JsonNode done = new TaskFollower(source, task.path("id").asText(), out, bar, json).follow();
        if (json) {
            out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(TaskFollower.summary(done)));
        }
        return TaskFollower.exitCode(done);
    }
}
