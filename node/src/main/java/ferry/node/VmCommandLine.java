package ferry.node;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Turns a VM definition into the QEMU process builder that runs it on this node. */
public final class VmCommandLine {
    private VmCommandLine() {}

    /**
     * @param storages the storages of this node by id; every disk's storage must be among them
     * @param incoming start waiting for {@code migrate-incoming} instead of running the guest
     */
    public static QemuProcess.Builder builder(QemuBinary qemu, VmDefinition vm, Map<String, Storage> storages,
                                              Path runDir, boolean incoming) {
        List<String> problems = vm.problems();
        if (!problems.isEmpty()) {
            throw new NodeException("VM " + vm.vmid() + " has an invalid definition: " + String.join("; ", problems));
        }
        QemuProcess.Builder b = QemuProcess.builder(qemu, runDir).name(vm.name()).machine(vm.machine())
                .memoryMiB(vm.memoryMiB()).accel(accel(vm.accel()))
                .args("-smp", Integer.toString(vm.vcpus()), "-cpu", vm.cpu(), "-uuid", uuid(vm.vmid()));
        if (vm.boot() != null && vm.boot().kernel() != null) {
            b.args("-kernel", vm.boot().kernel());
            if (vm.boot().initrd() != null) {
                b.args("-initrd", vm.boot().initrd());
            }
            if (vm.boot().append() != null) {
                b.args("-append", vm.boot().append());
            }
        }
        int i = 0;
        for (VmDefinition.Disk d : vm.disks()) {
            Storage s = storages.get(d.storage());
            if (s == null) {
                throw new NodeException("VM " + vm.vmid() + ": storage '" + d.storage() + "' does not exist on this node");
            }
            Path file = s.volumePath(d.volume());
            if (!Files.exists(file)) {
                throw new NodeException("VM " + vm.vmid() + ": volume '" + d.volume() + "' is missing on storage '"
                        + d.storage() + "' (" + file + ")");
            }
            String id = "disk" + i;
            b.args("-drive", "file=" + file + ",format=" + (d.format() == null ? "raw" : d.format())
                    + ",if=none,id=" + id + ",node-name=node-" + id);
            String device = "virtio".equals(d.bus()) ? "virtio-blk-pci" : "ide-hd";
            b.args("-device", device + ",drive=" + id + ",id=dev-" + id + (i == 0 ? ",bootindex=0" : ""));
            i++;
        }
        if (incoming) {
            // -S: the target stays paused after the stream ends, until ownership has moved to it
            b.args("-S", "-incoming", "defer");
        }
        return b;
    }

    private static String[] accel(VmDefinition.Accel a) {
        return switch (a) {
            case TCG -> new String[] {"tcg"};
            case KVM -> new String[] {"kvm"};
            case AUTO -> Kvm.device() == Kvm.DeviceState.USABLE ? new String[] {"kvm", "tcg"} : new String[] {"tcg"};
        };
    }

    /** A stable UUID per VM id, so the guest sees the same machine on every node. */
    static String uuid(int vmid) {
        return String.format("f3e7a000-0000-4000-8000-%012d", vmid);
    }
}
