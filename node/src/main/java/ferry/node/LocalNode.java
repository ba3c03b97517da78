package ferry.node;

import ferry.protocol.Commands;
import ferry.protocol.StatusInfo;
import ferry.qmp.QmpException;
import ferry.qmp.QmpOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The VMs of this node: their QEMUs run from {@code runRoot/<vmid>/}, so any process of this
 * node (an agent after a restart too) finds a running VM again through its run directory.
 */
public final class LocalNode {
    /** Longest UNIX socket path the kernel takes, less room for the file name. */
    private static final int MAX_RUN_DIR = 96;

    public enum State { STOPPED, RUNNING, PAUSED, INCOMING, OTHER }

    /** A VM's state here and QEMU's own word for it (e.g. "postmigrate", "inmigrate"). */
    public record Status(int vmid, State state, String qemuStatus, Long pid) {}

    private final String name;
    private final QemuBinary qemu;
    private final Map<String, Storage> storages;
    private final Path runRoot;

    public LocalNode(String name, QemuBinary qemu, Map<String, Storage> storages, Path runRoot) {
        if (runRoot.toAbsolutePath().toString().length() > MAX_RUN_DIR - 12) {
            throw new NodeException("run directory " + runRoot + " is too long for QMP sockets (UNIX paths are "
                    + "limited to 108 bytes); choose a shorter cluster folder");
        }
        this.name = name;
        this.qemu = qemu;
        this.storages = Map.copyOf(storages);
        this.runRoot = runRoot;
    }

    public String name() {
        return name;
    }

    public QemuBinary qemu() {
        return qemu;
    }

    public Map<String, Storage> storages() {
        return storages;
    }

    public Path runDir(int vmid) {
        return runRoot.resolve(Integer.toString(vmid));
    }

    /** Starts the VM running. */
    public QemuProcess start(VmDefinition vm) {
        refuseIfRunning(vm.vmid());
        return VmCommandLine.builder(qemu, vm, storages, runDir(vm.vmid()), false).start();
    }

    /** Starts the VM's QEMU waiting for {@code migrate-incoming}, with the same virtual hardware. */
    public QemuProcess startIncoming(VmDefinition vm) {
        refuseIfRunning(vm.vmid());
        return VmCommandLine.builder(qemu, vm, storages, runDir(vm.vmid()), true).start();
    }

    /** The running QEMU of a VM, connected; empty when it does not run here. */
    public Optional<QemuProcess> running(int vmid) {
        return QemuProcess.attach(runDir(vmid), QmpOptions.defaults());
    }

    public Status status(int vmid) {
        Optional<QemuProcess> q = running(vmid);
        if (q.isEmpty()) {
            return new Status(vmid, State.STOPPED, "stopped", null);
        }
        try (QemuProcessView v = new QemuProcessView(q.get())) {
            StatusInfo s = v.q().qmp().call(Commands.QUERY_STATUS);
            String st = s.status().wire() == null ? "unknown" : s.status().wire();
            State state = switch (st) {
                case "running" -> State.RUNNING;
                case "paused" -> State.PAUSED;
                case "inmigrate" -> State.INCOMING;
                default -> State.OTHER;
            };
            return new Status(vmid, state, st, v.q().pid());
        } catch (QmpException e) {
            return new Status(vmid, State.OTHER, "unreachable: " + e.getMessage(), q.get().pid());
        }
    }

    /** Stops the VM's QEMU (quit, then signals); a VM that does not run is left alone. */
    public boolean stop(int vmid, Duration grace) {
        Optional<QemuProcess> q = running(vmid);
        q.ifPresent(p -> p.stop(grace));
        return q.isPresent();
    }

    private void refuseIfRunning(int vmid) {
        Optional<QemuProcess> q = running(vmid);
        if (q.isPresent()) {
            long pid = q.get().pid();
            q.get().qmp().close();
            throw new NodeException("VM " + vmid + " already runs on node '" + name + "' (QEMU pid " + pid + ")");
        }
    }

    /** Closes only the QMP connection of an attached QEMU; the VM keeps running. */
    private record QemuProcessView(QemuProcess q) implements AutoCloseable {
        @Override
        public void close() {
            q.qmp().close();
        }
    }
}
