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
    /** One QMP connection per VM, shared: QEMU serves a QMP socket to one client at a time. */
    private final Map<Integer, QemuProcess> live = new java.util.concurrent.ConcurrentHashMap<>();

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
        return launch(vm, false);
    }

    /** Starts the VM's QEMU waiting for {@code migrate-incoming}, with the same virtual hardware. */
    public QemuProcess startIncoming(VmDefinition vm) {
        return launch(vm, true);
    }

    private synchronized QemuProcess launch(VmDefinition vm, boolean incoming) {
        refuseIfRunning(vm.vmid());
        QemuProcess q = VmCommandLine.builder(qemu, vm, storages, runDir(vm.vmid()), incoming).start();
        live.put(vm.vmid(), q);
        return q;
    }

    /**
     * The running QEMU of a VM with its shared QMP connection; empty when it does not run here.
     * Callers use the connection and leave it open.
     */
    public synchronized Optional<QemuProcess> running(int vmid) {
        QemuProcess q = live.get(vmid);
        if (q != null && q.isAlive() && q.qmp().isOpen()) {
            return Optional.of(q);
        }
        live.remove(vmid);
        Optional<QemuProcess> attached = QemuProcess.attach(runDir(vmid), QmpOptions.defaults());
        attached.ifPresent(p -> live.put(vmid, p));
        return attached;
    }

    public Status status(int vmid) {
        Optional<QemuProcess> q = running(vmid);
        if (q.isEmpty()) {
            return new Status(vmid, State.STOPPED, "stopped", null);
        }
        try {
            StatusInfo s = q.get().qmp().call(Commands.QUERY_STATUS);
            String st = s.status().wire() == null ? "unknown" : s.status().wire();
            State state = switch (st) {
                case "running" -> State.RUNNING;
                // postmigrate: stopped by a migration that ended or was cancelled; the guest does not run
                case "paused", "postmigrate" -> State.PAUSED;
                case "inmigrate" -> State.INCOMING;
                default -> State.OTHER;
            };
            return new Status(vmid, state, st, q.get().pid());
        } catch (QmpException e) {
            return new Status(vmid, State.OTHER, "unreachable: " + e.getMessage(), q.get().pid());
        }
    }

    /** Pauses the guest (QMP stop); QEMU keeps its state. */
    public void pause(int vmid) {
        qmpOf(vmid).call(Commands.STOP);
    }

    /** Lets a paused guest run again (QMP cont). */
    public void resume(int vmid) {
        qmpOf(vmid).call(Commands.CONT);
    }

    private ferry.qmp.QmpClient qmpOf(int vmid) {
        return running(vmid).orElseThrow(() -> new NodeException("VM " + vmid + " does not run on node '" + name + "'"))
                .qmp();
    }

    /** Stops the VM's QEMU (quit, then signals); a VM that does not run is left alone. */
    public boolean stop(int vmid, Duration grace) {
        Optional<QemuProcess> q = running(vmid);
        q.ifPresent(p -> p.stop(grace));
        live.remove(vmid);
        return q.isPresent();
    }

    /** Drops every shared QMP connection; the VMs keep running. */
    public synchronized void disconnectAll() {
        live.values().forEach(QemuProcess::detach);
        live.clear();
    }

    private void refuseIfRunning(int vmid) {
        Optional<QemuProcess> q = running(vmid);
        if (q.isPresent()) {
            throw new NodeException("VM " + vmid + " already runs on node '" + name + "' (QEMU pid " + q.get().pid() + ")");
        }
    }
}
