package ferry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import ferry.agent.evacuate.Evacuation;
import ferry.agent.evacuate.EvacuationRow;
import ferry.agent.evacuate.EvacuationTargets;
import ferry.cluster.ClusterStore;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry node evacuate NODE}: maintenance on, then every VM moved off the node. */
@Command(name = "evacuate", mixinStandardHelpOptions = true,
        description = {"Empties a node: puts it in maintenance (nothing migrates to it any more), then migrates each of "
                + "its running VMs live to another node (its stopped ones too, offline, with --all). The node stays "
                + "in maintenance afterwards; 'ferry node resume NODE' ends it.",
                "Each VM goes to the allowed node (--to, else every other node) not in maintenance that can give VMs "
                + "the most memory (its MemAvailable less its agent's --memory-reserve, less the VMs this "
                + "evacuation is already sending it). If that node's prepare refuses the VM (not enough memory, a "
                + "storage it lacks, an older QEMU ...), the next node is asked.",
                "At most --parallel migrations run from the node at once, and at most --cluster-limit in the whole "
                + "cluster (counted from every agent's running tasks, other migrations included). One VM's failure "
                + "does not stop the others. A VM locked by a running migration is waited for (--lock-wait).",
                "Running it again continues: VMs that moved are no longer the node's, so only those left are "
                + "tried. It prints a line per step and a summary table (VM, target, outcome, downtime, duration).",
                "Exit codes: 0 every VM moved (or was a stopped one left without --all); 1 some VM did not move "
                + "(the table says why; run it again once that is fixed); 2 bad usage (nothing changed); 3 all "
                + "moved, some with problems (see their task logs); 4 some VM's outcome is not known yet (its "
                + "agent was lost, or its hand-over is pending: 'ferry task list')."})
final class NodeEvacuate implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Parameters(paramLabel = "NODE", description = "The node to empty.")
    String node;

    @Option(names = "--to", paramLabel = "NODE", split = ",", description = "Only these nodes may take the VMs, "
            + "e.g. b,c (default: every other node).")
    List<String> to = new ArrayList<>();

    @Option(names = "--all", description = "Move stopped VMs too (offline: their local volumes are copied).")
    boolean all;

    @Option(names = "--parallel", paramLabel = "N", defaultValue = "2", description = "At most N migrations from "
            + "the node at once (default ${DEFAULT-VALUE}, as KubeVirt and oVirt per host).")
    int parallel;

    @Option(names = "--cluster-limit", paramLabel = "N", defaultValue = "5", description = "Start none while N "
            + "migrations run in the whole cluster (default ${DEFAULT-VALUE}, as KubeVirt).")
    int clusterLimit;

    @Option(names = "--lock-wait", paramLabel = "S", defaultValue = "600", description = "How long to wait for a "
            + "running migration that holds a VM's lock (default ${DEFAULT-VALUE} s); then the VM is reported locked.")
    int lockWait;

    @Option(names = "--with-local-disks", description = "Mirror running VMs' local volumes to their target (see "
            + "'ferry migrate'); without it a running VM with local volumes is refused and stays.")
    boolean withLocalDisks;

    @Option(names = "--target-storage", paramLabel = "MAP", description = "Where local volumes go (see 'ferry migrate').")
    String targetStorage;

    @Mixin
    BudgetOptions limits;

    @Mixin
    PolicyOption policy;

    @Mixin
    ReconnectOption reconnect;

    @Option(names = "--json", description = {"Print one JSON object when done (node, maintenance, moved, failed, "
            + "skipped, vms: vmid, name, online, target, outcome, downtime_ms, duration_ms, task, started_at, "
            + "ended_at, error); progress goes to stderr as one JSON object per line."})
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (parallel < 1 || clusterLimit < 1) {
            throw new UsageError("--parallel and --cluster-limit must be 1 or more, got " + parallel + " and "
                    + clusterLimit);
        }
        if (lockWait < 0) {
            throw new UsageError("--lock-wait must be 0 or more seconds, got " + lockWait);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ObjectNode request = VmCommand.JSON.createObjectNode().put("with_local_disks", withLocalDisks);
        if (targetStorage != null) {
            request.put("target_storage", targetStorage);
        }
        limits.putInto(request);
        policy.putInto(request);
        try (ClusterStore s = cluster.store()) {
            if (s.config().node(node).isEmpty()) {
                throw new UsageError("unknown node '" + node + "'; the cluster's nodes are "
                        + String.join(", ", s.config().nodeNames()));
            }
            try {
                EvacuationTargets.check(s.currentConfig(), node, to, "--to");
            } catch (IllegalArgumentException e) {
                throw new UsageError(e.getMessage());
            }
            Map<String, AgentClient> agents = agents(s);
            if (!AgentProcess.answers(agents.get(node))) {
                throw new UsageError("the agent of node '" + node + "' does not answer: it starts each migration, so "
                        + "an evacuation needs it; start it ('ferry cluster up') and run this again");
            }
            s.maintenance(node, true); // first: nothing may arrive while the node empties
            Evacuation.Settings settings = new Evacuation.Settings(node, to, all, parallel, clusterLimit,
                    Duration.ofSeconds(lockWait), request);
            EvacuatedAgent source = new EvacuatedAgent(agents.get(node), node, reconnect.duration());
            List<EvacuationRow> rows;
            try {
                rows = new Evacuation(s, source, agents::get, settings, (line, event) -> {
                    if (json) {
                        err.println(event);
                        err.flush();
                    } else {
                        out.println(line);
                        out.flush();
                    }
                }).run();
            } catch (InterruptedException e) {
                err.println("ferry: evacuation of node " + node + " interrupted: the migrations it started go on in "
                        + "node " + node + "'s agent ('ferry task list' shows them); run it again to continue");
                return Main.FAILED;
            }
            if (json) {
                out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(
                        EvacuationRow.report(node, parallel, clusterLimit, rows)));
            } else {
                table(rows, out);
            }
            return exitCode(EvacuationRow.overall(rows));
        }
    }

    /** The nodes of the cluster with an admin's client each. */
    private Map<String, AgentClient> agents(ClusterStore store) {
        Map<String, AgentClient> m = new java.util.LinkedHashMap<>();
        ferry.agent.AgentCredentials admin = ferry.agent.AgentCredentials.admin(cluster.dir);
        store.config().nodes().forEach(n -> m.put(n.name(), new AgentClient(n.agentAddress(), admin)));
        return m;
    }

    /**
     * The exit code of an evacuation, as {@code ferry migrate}'s: 1 when a VM did not move, else 4
     * when one's outcome is not known yet, else 3 when one moved with problems, else 0.
     */
    static int exitCode(EvacuationRow.Overall overall) {
        return switch (overall) {
            case FAILED -> Main.FAILED;
            case UNKNOWN -> Main.UNKNOWN;
            case PROBLEMS -> Main.PROBLEMS;
            case COMPLETED -> Main.OK;
        };
    }

    private void table(List<EvacuationRow> rows, PrintWriter out) {
        if (!rows.isEmpty()) {
            rowsTable(rows, out);
        }
        long failed = rows.stream().filter(EvacuationRow::failed).count();
        out.printf("node %s: %d moved, %d not moved, %d stopped left; it stays in maintenance until 'ferry node "
                + "resume %s'%s%n", node, rows.stream().filter(EvacuationRow::moved).count(), failed,
                rows.stream().filter(r -> r.outcome().equals("skipped")).count(), node,
                failed > 0 ? "; fix what the table names and run the evacuation again" : "");
    }

    private static void rowsTable(List<EvacuationRow> rows, PrintWriter out) {
        out.printf("%n%-6s %-16s %-8s %-16s %-10s %-9s %s%n", "VM", "NAME", "TARGET", "OUTCOME", "DOWNTIME", "DURATION",
                "NOTE");
        for (EvacuationRow r : rows) {
            out.printf(Locale.ROOT, "%-6d %-16s %-8s %-16s %-10s %-9s %s%n", r.vmid(), r.name(),
                    r.target() == null ? "-" : r.target(), r.outcome(),
                    r.downtimeMs() == null ? "-" : r.downtimeMs() + " ms",
                    r.durationMs() == null ? "-" : String.format(Locale.ROOT, "%.1f s", r.durationMs() / 1000.0),
                    r.error() != null ? r.error() : r.refusals().entrySet().stream()
                            .map(e -> e.getKey() + " refused: " + e.getValue()).collect(Collectors.joining("; ")));
        }
    }
}
