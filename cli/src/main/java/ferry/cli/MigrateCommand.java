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
                "VM moves with its local volumes copied. Before the stream starts, the guest's dirty rate and",
                "zero pages are measured and the outcome predicted (see 'ferry plan'). Exit codes: 0 completed,",
                "1 failed, not converged or aborted by the policy (cleaned up: the VM is where it was), 2 refused or bad usage (nothing changed), 3 finished with problems (the VM moved;",
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

    @Mixin
    BudgetOptions limits;

    @Mixin
    TuningOptions tuning;

    @Option(names = "--policy", paramLabel = "NAME", description = {
            "How to make the migration converge (default: the VM's, else budget):",
            "  budget        keep --max-downtime: raise QEMU's limit within it, then escalate to what",
            "                --allow-* permits (throttle, postcopy, pause), else abort with the reason;",
            "  classic       Proxmox's: double the downtime when stalled (from --downtime, 100 ms),",
            "                xbzrle and auto-converge on;",
            "  qemu-default  QEMU's defaults, only --bwlimit applied (what virsh migrate --live does)."})
    String policy;

    @Option(names = "--recover-wait", paramLabel = "S", description = "How long to wait for a broken link during "
            + "postcopy before giving up (default 300 s; both QEMUs stay paused, never killed).")
    Integer recoverWait;

    @Option(names = "--json", description = {"Print one JSON object when done, instead of progress and log lines;",
            "progress goes to stderr as one JSON object per line."})
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AgentClient source = cluster.ownerOf(vmid);
        ObjectNode req = VmCommand.JSON.createObjectNode().put("vmid", vmid).put("target", target).put("online", online)
                .put("force", force);
        limits.putInto(req);
        tuning.putInto(req);
        BudgetOptions.putIfSet(req, "recover_wait", recoverWait);
        if (policy != null) {
            req.put("policy", policy);
        }
        JsonNode task = source.migrate(req);
        boolean bar = !json && System.console() != null;
        TaskFollower follower = new TaskFollower(source, task.path("id").asText(), out, bar, json);
        if (json) {
            follower.progressLines(spec.commandLine().getErr());
        }
        JsonNode done = follower.follow();
        if (json) {
            out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(TaskFollower.summary(done)));
        }
        return TaskFollower.exitCode(done);
    }
}
