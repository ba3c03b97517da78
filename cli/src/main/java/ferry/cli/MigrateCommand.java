package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry migrate VMID TARGET}: moves a VM to another node, live with --online. */
@Command(name = "migrate", mixinStandardHelpOptions = true,
        description = {"Migrates a VM to another node. A running VM needs --online (live migration); a stopped VM moves "
                + "with its local volumes copied. Before the stream starts, the guest's dirty rate and zero pages "
                + "are measured and the outcome predicted (see 'ferry plan'). If the source's agent stops "
                + "answering, it waits for it (--reconnect-wait) and follows the recovered task to its end.",
                "Exit codes: 0 completed; 1 failed, not converged or aborted by the policy (cleaned up: the VM "
                + "is where it was); 2 refused or bad usage (nothing changed); 3 finished with problems (the VM "
                + "moved; the log says what is left to repair); 4 not finished or unknown: a hand-over is pending "
                + "(the guest waits paused on the source, the agent finishes it) or the agent did not come back "
                + "('ferry task log ID' shows the end)."})
final class MigrateCommand implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Parameters(index = "0", paramLabel = "VMID", converter = VmIdConverter.class)
    int vmid;

    @Parameters(index = "1", paramLabel = "TARGET", description = "The target node.")
    String target;

    @Option(names = "--online", description = "Migrate a running VM live.")
    boolean online;

    @Option(names = "--force", description = "Allow local devices (stopped VMs only).")
    boolean force;

    @Option(names = "--with-local-disks", description = {"Mirror a running VM's local volumes to the target (NBD export there, blockdev-mirror here; the "
                + "source's volumes are freed once the target runs)."})
    boolean withLocalDisks;

    @Option(names = "--target-storage", paramLabel = "MAP", description = {"Where local volumes go on the target: one storage id for all, or src:dst[,src:dst...] (default: "
                + "the storage of the same id)."})
    String targetStorage;

    @Option(names = "--mirror-mode", paramLabel = "MODE", description = {"How local disks' mirrors start: auto (default: measured, write-blocking when the guest writes "
                + "too fast for a background copy), background (write-blocking once ready), write-blocking (the "
                + "guest's writes at the link's pace)."})
    String mirrorMode;

    @Option(names = "--unsafe", description = {"Migrate live although a disk on shared storage runs with a host cache mode (writeback, "
                + "writethrough, unsafe): only when the storage keeps both hosts coherent."})
    boolean unsafe;

    @Mixin
    BudgetOptions limits;

    @Mixin
    TuningOptions tuning;

    @Mixin
    PolicyOption policy;

    @Option(names = "--recover-wait", paramLabel = "S", converter = PositiveIntConverter.class, description = "How long to wait for a broken link during "
            + "postcopy before giving up (default 300 s; both QEMUs stay paused, never killed).")
    Integer recoverWait;

    @Option(names = "--no-tls", description = {"Send the migration and disk streams in plain TCP although the cluster has certificates: only to "
                + "measure what TLS costs (the task log warns). The target's agent must have been started with "
                + "--allow-plain-streams."})
    boolean noTls;

    @Mixin
    ReconnectOption reconnect;

    @Option(names = "--json", description = {"Print one JSON object when done, instead of progress and log lines; progress goes to stderr as "
                + "one JSON object per line."})
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        String sourceNode = cluster.owner(vmid);
        AgentClient source = cluster.agent(sourceNode);
        Duration wait = reconnect.duration();
        ObjectNode req = VmCommand.JSON.createObjectNode().put("vmid", vmid).put("target", target).put("online", online)
                .put("force", force).put("with_local_disks", withLocalDisks).put("unsafe", unsafe);
        if (targetStorage != null) {
            req.put("target_storage", targetStorage);
        }
        if (mirrorMode != null) {
            req.put("mirror_mode", mirrorMode);
        }
        limits.putInto(req);
        tuning.putInto(req);
        BudgetOptions.putIfSet(req, "recover_wait", recoverWait);
        policy.putInto(req);
        if (noTls) {
            req.put("tls", false);
        }
        JsonNode task = source.migrate(req);
        boolean bar = !json && System.console() != null;
        String id = task.path("id").asText();
        TaskFollower follower = new TaskFollower(source, sourceNode, id, out, bar, json)
                .reconnect(wait, spec.commandLine().getErr());
        if (json) {
            follower.progressLines(spec.commandLine().getErr());
        }
        JsonNode done;
        try {
            done = follower.follow();
        } catch (OutcomeUnknown e) {
            if (json) { // the one object a script reads, saying what is known
                out.println(VmCommand.JSON.createObjectNode().put("status", "unknown").put("task", id).put("vmid", vmid)
                        .put("source", sourceNode).put("target", target).put("error", e.getMessage()).toPrettyString());
                throw e.reported();
            }
            throw e;
        }
        if (json) {
            out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(TaskFollower.summary(done)));
        }
        return TaskFollower.exitCode(done);
    }
}
