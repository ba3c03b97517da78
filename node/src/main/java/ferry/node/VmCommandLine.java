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
        boolean kernelBoot = vm.boot() != null && vm.boot().kernel() != null;
        if (vm.disks().stream().anyMatch(d -> "scsi".equals(d.bus()))) {
            b.args("-device", "virtio-scsi-pci,id=scsi0");
        }
        int i = 0;
        for (VmDefinition.Disk d : vm.disks()) {
            String id = driveId(i);
            if (d.emptyDrive()) {
                b.args("-drive", "if=none,id=" + id + ",media=cdrom,readonly=on");
                b.args("-device", device(d) + ",drive=" + id + ",id=dev-" + id);
                i++;
                continue;
            }
            Storage s = storages.get(d.storage());
            if (s == null) {
                throw new NodeException("VM " + vm.vmid() + ": storage '" + d.storage() + "' does not exist on this node");
            }
            Path file = s.volumePath(d.volume());
            if (!Files.exists(file)) {
                throw new NodeException("VM " + vm.vmid() + ": volume '" + d.volume() + "' is missing on storage '"
                        + d.storage() + "' (" + file + ")");
            }
            b.args("-drive", "file=" + file + ",format=" + d.formatOrRaw() + ",if=none,id=" + id + ",node-name="
                    + nodeName(i) + ",cache=" + d.cacheMode() + (d.aio() == null ? "" : ",aio=" + d.aio())
                    + (d.cdrom() ? ",media=cdrom,readonly=on" : ""));
            // a kernel boot holds bootindex 0 already; otherwise the first disk boots
            boolean boots = !kernelBoot && i == 0;
            b.args("-device", device(d) + ",drive=" + id + ",id=dev-" + id + (boots ? ",bootindex=0" : ""));
            i++;
        }
        if (incoming) {
            // -S: the target stays paused after the stream ends, until ownership has moved to it
            b.args("-S", "-incoming", "defer");
        }
        return b;
    }

    /** QEMU's name of the i-th disk's drive (its BlockBackend): {@code disk0}, {@code disk1}, ... */
    public static String driveId(int i) {
        return "disk" + i;
    }

    /** The node name of the i-th disk's format node, the one a mirror copies and an NBD export serves. */
    public static String nodeName(int i) {
        return "node-" + driveId(i);
    }

    private static String device(VmDefinition.Disk d) {
        String bus = d.bus() == null ? "ide" : d.bus();
        return switch (bus) {
            case "virtio" -> "virtio-blk-pci";
            case "scsi" -> (d.cdrom() ? "scsi-cd" : "scsi-hd") + ",bus=scsi0.0";
            default -> d.cdrom() ? "ide-cd" : "ide-hd";
        };
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
