package ferry.cli.drill;

import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.testkit.PageOracle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Checks one migration after its scenario settled, with both agents stopped (QEMU serves one QMP
 * client, and the agents held it): exactly one QEMU runs the guest unpaused, on the store's
 * owner; no lock and no open journal; no other QEMU of the VM on any node and no volume copy;
 * the guest's memory passes the page oracle.
 */
final class InvariantCheck {
    private final DrillCluster cluster;

    InvariantCheck(DrillCluster cluster) {
        this.cluster = cluster;
    }

    Findings check(Scenario.Tracked t) {
        java.util.Map<String, LocalNode> nodes = new java.util.LinkedHashMap<>();
        DrillCluster.NODES.forEach(n -> nodes.put(n, cluster.localNode(n)));
        try {
            return check(t, nodes);
        } finally {
            // the next agents must find each QMP socket free
            nodes.values().forEach(LocalNode::disconnectAll);
        }
    }

    private Findings check(Scenario.Tracked t, java.util.Map<String, LocalNode> nodes) {
        Findings f = new Findings();
        int vmid = t.vmid();
        String where = "VM " + vmid + " (task " + t.task() + ")";
        Optional<VmRecord> rec;
        try (ClusterStore s = cluster.layout().open()) {
            rec = s.vm(vmid);
        }
        f.check("owner");
        if (rec.isEmpty()) {
            f.lost++;
            f.details.add(where + ": its record is gone from the store");
            return f;
        }
        String owner = rec.get().owner();
        f.check("lock");
        if (rec.get().lock() != null) {
            f.staleLocks++;
            f.details.add(where + ": still locked '" + rec.get().lock() + "' on node '" + owner + "'");
        }
        f.check("journal closed");
        if (!cluster.journals().closed(t.task())) {
            f.staleLocks++;
            f.details.add(where + ": its journal is still open after " + cluster.journals().kinds(t.task()));
        }
        List<String> runningOn = new ArrayList<>();
        List<String> pausedOn = new ArrayList<>();
        f.check("one QEMU runs it on the owner");
        f.check("no orphan QEMU");
        for (String node : DrillCluster.NODES) {
            LocalNode.State state = nodes.get(node).status(vmid).state();
            int processes = cluster.qemuProcesses(node, vmid).size();
            if (state == LocalNode.State.RUNNING) {
                runningOn.add(node);
            } else if (state != LocalNode.State.STOPPED) {
                pausedOn.add(node + " (" + state.name().toLowerCase() + ")");
            }
            int expected = node.equals(owner) && state != LocalNode.State.STOPPED ? 1 : 0;
            if (!node.equals(owner) && processes > 0) {
                f.orphans += processes;
                f.details.add(where + ": " + processes + " QEMU(s) left on node '" + node + "', which does not own it ("
                        + state.name().toLowerCase() + ")");
            } else if (processes > expected) {
                f.orphans += processes - expected;
                f.details.add(where + ": " + processes + " QEMU processes on node '" + node + "'");
            }
        }
        f.check("no duplicate");
        if (runningOn.size() > 1) {
            f.duplicated++;
            f.details.add(where + ": runs unpaused on " + runningOn);
        }
        if (runningOn.isEmpty()) {
            if (pausedOn.stream().anyMatch(p -> p.startsWith(owner + " "))) {
                f.manualSteps++;
                f.details.add(where + ": left paused on its owner '" + owner + "': a person must resume it");
                f.outcomes.add(vmid + " paused on " + owner);
            } else if (t.guestMayCrash()) {
                f.outcomes.add(vmid + " crashed with its QEMU (stopped on " + owner + ")");
            } else {
                f.lost++;
                f.details.add(where + ": no QEMU runs it, though the fault left a QEMU that held it; owner '" + owner
                        + "', journal " + cluster.journals().kinds(t.task()) + ", outcome '"
                        + cluster.journals().outcome(t.task()) + "'");
                f.outcomes.add(vmid + " LOST");
            }
        } else if (!runningOn.contains(owner)) {
            f.manualSteps++;
            f.details.add(where + ": runs on " + runningOn + " but the store says node '" + owner + "' owns it");
            f.outcomes.add(vmid + " runs on " + runningOn + ", owner " + owner);
        } else {
            f.outcomes.add(vmid + (owner.equals(t.target()) ? " moved " + t.source() + "->" + owner
                    : " stayed on " + owner));
            oracle(f, t, nodes.get(owner), where);
        }
        copies(f, t.vmid(), where);
        return f;
    }

    /** Stops the guest, dumps its region and checks it page by page, lets it go on. */
    private void oracle(Findings f, Scenario.Tracked t, LocalNode node, String where) {
        f.check("memory oracle");
        Optional<QemuProcess> q = node.running(t.vmid());
        if (q.isEmpty()) {
            return;
        }
        q.get().qmp().call(Commands.STOP);
        PageOracle.Result r = t.guest().checkMemory(q.get());
        q.get().qmp().call(Commands.CONT);
        if (!r.ok()) {
            // a guest whose memory is not what it wrote was not kept, whatever runs it
            f.lost++;
            f.details.add(where + ": memory oracle on node '" + node.name() + "': " + r.message());
        }
    }

    /** The drill's VMs live on the shared storage: any file in a node's local storage is a stray copy. */
    private void copies(Findings f, int vmid, String where) {
        f.check("no volume copy");
        for (String node : DrillCluster.NODES) {
            Path local = cluster.layout().storages(node).get("local").path();
            try (var files = Files.list(local)) {
                List<Path> left = files.filter(p -> p.getFileName().toString().startsWith("vm-" + vmid + "-")).toList();
                if (!left.isEmpty()) {
                    f.orphans += left.size();
                    f.details.add(where + ": volume copies left on node '" + node + "': " + left);
                }
            } catch (IOException ignored) {
                // no local storage folder: nothing was copied there
            }
        }
    }
}
