package ferry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterConfig;
import ferry.cluster.ClusterStore;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry node maintenance|resume|evacuate}: taking a node out of service and back. */
@Command(name = "node", mixinStandardHelpOptions = true,
        description = {"Takes a node out of service and back: 'maintenance' stops migrations to it, 'evacuate' moves "
                + "its VMs away (and sets maintenance first), 'resume' lets migrations come to it again."},
        subcommands = {NodeCommand.Maintenance.class, NodeCommand.Resume.class, NodeEvacuate.class})
final class NodeCommand {
    private NodeCommand() {}

    /** What maintenance and resume share: the node, the cluster, the one line or object they print. */
    abstract static class Flag implements Callable<Integer> {
        @Mixin
        ClusterOption cluster;

        @Parameters(paramLabel = "NODE", description = "The node.")
        String node;

        @Option(names = "--json", description = "Print one JSON object: node, maintenance, vms (how many it owns).")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        abstract boolean on();

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            try (ClusterStore s = cluster.store()) {
                ClusterConfig c = s.maintenance(node, on()); // an unknown node is refused: nothing changes
                int vms = s.vmsOf(node).size();
                if (json) {
                    ObjectNode o = VmCommand.JSON.createObjectNode().put("node", node)
                            .put("maintenance", c.node(node).orElseThrow().maintenance()).put("vms", vms);
                    out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o));
                } else if (on()) {
                    out.printf("node %s: in maintenance: no migration goes to it until 'ferry node resume %s'; it owns "
                            + "%d VM(s) ('ferry node evacuate %s' moves them away)%n", node, node, vms, node);
                } else {
                    out.printf("node %s: maintenance over: migrations may go to it again%n", node);
                }
            }
            return Main.OK;
        }
    }

    @Command(name = "maintenance", mixinStandardHelpOptions = true,
            description = {"Puts a node in maintenance: from now on every migration to it is refused (its own VMs may "
                    + "still leave; migrations already running go on). The flag lives in the cluster's records, so "
                    + "every agent sees it at once, and it stays until 'ferry node resume NODE'. Setting it again "
                    + "changes nothing."})
    static final class Maintenance extends Flag {
        @Override
        boolean on() {
            return true;
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = {"Ends a node's maintenance: migrations may go to it again. It does not bring back the VMs an "
                    + "evacuation moved away."})
    static final class Resume extends Flag {
        @Override
        boolean on() {
            return false;
        }
    }
}
