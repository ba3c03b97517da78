package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.agent.AgentClient;
import ferry.cluster.ClusterStore;
import ferry.cluster.NodeInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry vm create|start|stop|pause|resume|unlock|list|status}: VMs, through their owner's agent. */
@Command(name = "vm", mixinStandardHelpOptions = true,
        description = "Creates, starts, stops, pauses, resumes, unlocks and lists VMs.",
        subcommands = {VmCommand.Create.class, VmCommand.Start.class, VmCommand.Stop.class, VmCommand.Pause.class,
                VmCommand.Resume.class, VmCommand.Unlock.class, VmCommand.ListVms.class, VmCommand.Status.class})
final class VmCommand {
    static final ObjectMapper JSON = ferry.agent.ApiJson.MAPPER;

    abstract static class Base {
        @Mixin
        ClusterOption cluster;

        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        void print(JsonNode vm) throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(vm));
            } else {
                if (vm.has("message")) {
                    out.println(vm.path("message").asText());
                }
                out.printf("VM %-6d %-20s node %-8s %-9s%s%n", vm.path("vmid").asInt(), vm.path("name").asText(),
                        vm.path("owner").asText(), vm.path("status").asText("?"),
                        vm.has("lock") ? " lock: " + vm.path("lock").asText() : "");
            }
        }
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Defines a VM on a node from a JSON definition (FILE, or - for standard input):",
                    "{\"vmid\":100,\"name\":\"web\",\"memory\":512,\"vcpus\":1,\"machine\":\"pc\",\"cpu\":\"qemu64\",",
                    " \"boot\":{\"kernel\":...,\"initrd\":...,\"append\":...},",
                    " \"disks\":[{\"storage\":\"shared\",\"volume\":\"vm-100-disk-0.qcow2\",\"format\":\"qcow2\",\"bus\":\"virtio\"}],",
                    " \"accel\":\"tcg\",\"migration\":{\"downtime_ms\":100,\"speed_mib\":1000}}"})
    static final class Create extends Base implements Callable<Integer> {
        @Option(names = "--node", required = true, description = "The node that will own the VM.")
        String node;

        @Parameters(paramLabel = "FILE", description = "The definition (JSON), or - for standard input.")
        String file;

        @Override
        public Integer call() throws IOException {
            String text;
            try {
                text = file.equals("-") ? new String(System.in.readAllBytes()) : Files.readString(Path.of(file));
            } catch (java.nio.file.NoSuchFileException e) {
                throw new UsageError("cannot read the VM definition: " + file + " does not exist");
            }
            JsonNode def;
            try {
                def = JSON.readTree(text);
            } catch (IOException e) {
                throw new UsageError("the VM definition in " + file + " is not valid JSON: " + e.getMessage());
            }
            print(cluster.agent(node).post("/api/v1/vms", def));
            return Main.OK;
        }
    }

    /** A VM action carried out by the owner's agent: POST /api/v1/vms/VMID/ACTION. */
    abstract static class OwnerAction extends Base implements Callable<Integer> {
        @Parameters(paramLabel = "VMID", converter = VmIdConverter.class)
        int vmid;

        abstract String action();

        /** The request's query string, e.g. {@code ?force=true}; none by default. */
        String query() {
            return "";
        }

        @Override
        public Integer call() throws IOException {
            print(cluster.ownerOf(vmid).post("/api/v1/vms/" + vmid + "/" + action() + query(), null));
            return Main.OK;
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true,
            description = {"Pauses a running VM's guest; its QEMU stays.",
                "Refused (exit 2) while a migration holds the VM; the message names the task and its node."})
    static final class Pause extends OwnerAction {
        @Override
        String action() {
            return "pause";
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true,
            description = {"Resumes a paused VM's guest.",
                "Refused (exit 2) while a migration holds the VM, running or unfinished: a guest left paused by "
                + "a hand-over is resumed by the migration's recovery, never by hand."})
    static final class Resume extends OwnerAction {
        @Override
        String action() {
            return "resume";
        }
    }

    @Command(name = "unlock", mixinStandardHelpOptions = true,
            description = {"Clears a VM's lock, unless a migration holds it.",
                "Refused (exit 2) while a task runs the VM's migration (cancel it with 'ferry task cancel ID', "
                + "or wait), and while an unfinished migration's journal is open: its node's agent resolves it, "
                + "when it starts again if it is down ('ferry cluster up'). A lock no journal explains is cleared; "
                + "an unlocked VM is left as it is."})
    static final class Unlock extends OwnerAction {
        @Option(names = "--force", description = {"For a node gone for good: close its unfinished migration's journal (outcome "
                + "abandoned-by-unlock), then clear the lock. Never while the task runs."})
        boolean force;

        @Override
        String action() {
            return "unlock";
        }

        @Override
        String query() {
            return force ? "?force=true" : "";
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Starts a VM on the node that owns it.")
    static final class Start extends OwnerAction {
        @Override
        String action() {
            return "start";
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true, description = "Stops a VM (QEMU quits; then signals).")
    static final class Stop extends OwnerAction {
        @Override
        String action() {
            return "stop";
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "Shows a VM: owner, state, lock.")
    static final class Status extends Base implements Callable<Integer> {
        @Parameters(paramLabel = "VMID", converter = VmIdConverter.class)
        int vmid;

        @Override
        public Integer call() throws IOException {
            print(cluster.ownerOf(vmid).get("/api/v1/vms/" + vmid));
            return Main.OK;
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists the cluster's VMs with their state.")
    static final class ListVms extends Base implements Callable<Integer> {
        @Override
        public Integer call() throws IOException {
            try (ClusterStore s = cluster.store()) {
                var all = JSON.createArrayNode();
                for (NodeInfo n : s.config().nodes()) {
                    AgentClient c = cluster.agent(n.name());
                    for (var r : s.vmsOf(n.name())) {
                        JsonNode vm;
                        try {
                            vm = c.get("/api/v1/vms/" + r.vmid());
                        } catch (AgentClient.AgentException e) {
                            vm = JSON.createObjectNode().put("vmid", r.vmid()).put("owner", n.name())
                                    .put("name", r.config().path("name").asText()).put("status", "agent down");
                        }
                        if (json) {
                            all.add(vm);
                        } else {
                            print(vm);
                        }
                    }
                }
                if (json) {
                    spec.commandLine().getOut().println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(all));
                }
            }
            return Main.OK;
        }
    }
}
