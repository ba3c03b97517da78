package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.LinuxStress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disks a guest really uses start in real QEMU: every bus, both formats, cache and aio as defined. */
class DiskDevicesTest {
    @TempDir
    Path dir;

    @Test
    void kernelBootWithDataDisksOnEveryBus() throws Exception {
        String why = LinuxStress.unavailableReason();
        if (why != null) {
            System.out.println("skipped: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        try (TwoNodes nodes = new TwoNodes(dir)) {
            var local = nodes.a.storages().get("local");
            nodes.volumes.create(local, "vm-450-disk-0.raw", "raw", 8 << 20);
            nodes.volumes.create(local, "vm-450-disk-1.qcow2", "qcow2", 64 << 20);
            nodes.volumes.create(local, "vm-450-disk-2.raw", "raw", 8 << 20);
            nodes.volumes.create(local, "vm-450-cd.iso", "raw", 1 << 20);
            List<VmDefinition.Disk> disks = List.of(
                    new VmDefinition.Disk("local", "vm-450-disk-0.raw", "raw", "virtio", "none", "native", null),
                    new VmDefinition.Disk("local", "vm-450-disk-1.qcow2", "qcow2", "scsi", "directsync", "io_uring", null),
                    new VmDefinition.Disk("local", "vm-450-disk-2.raw", "raw", "ide", "writeback", "threads", null),
                    new VmDefinition.Disk("local", "vm-450-cd.iso", "raw", "scsi", null, null, "cdrom"));
            // a kernel boot and a data disk: the disk must not claim bootindex 0, which -kernel holds
            VmDefinition vm = new VmDefinition(450, "disks", 64, 1, "pc", "qemu64",
                    new VmDefinition.Boot(LinuxStress.kernel().toString(), null, "console=ttyS0 panic=-1"), disks,
                    VmDefinition.Accel.TCG, null);
            assertThat(vm.problems()).isEmpty();
            QemuProcess q = nodes.a.start(vm);
            Map<String, JsonNode> byDrive = new HashMap<>();
            for (JsonNode b : q.qmp().execute(Commands.QUERY_BLOCK, null)) {
                byDrive.put(b.path("device").asText(), b);
            }
            assertThat(byDrive).containsKeys("disk0", "disk1", "disk2", "disk3");
            assertThat(byDrive.get("disk0").at("/inserted/cache/direct").asBoolean()).isTrue();
            assertThat(byDrive.get("disk1").at("/inserted/drv").asText()).isEqualTo("qcow2");
            assertThat(byDrive.get("disk1").at("/inserted/cache/direct").asBoolean()).isTrue();
            assertThat(byDrive.get("disk1").at("/inserted/cache/writeback").asBoolean()).isFalse();
            assertThat(byDrive.get("disk2").at("/inserted/cache/direct").asBoolean()).isFalse();
            assertThat(byDrive.get("disk3").at("/inserted/ro").asBoolean()).isTrue();
            assertThat(byDrive.get("disk3").path("removable").asBoolean()).as("a cdrom").isTrue();
            assertThat(byDrive.get("disk0").path("qdev").asText()).contains("dev-disk0");
            q.stop(Duration.ofSeconds(3));
        }
    }

    @Test
    void impossibleDiskSettingsAreNamed() {
        VmDefinition vm = new VmDefinition(451, "bad", 64, 1, "pc", "qemu64", null, List.of(
                new VmDefinition.Disk("local", "vm-451-disk-0.raw", "raw", "usb"),
                new VmDefinition.Disk("local", "vm-451-disk-1.raw", "raw", "virtio", "writeback", "native", null),
                new VmDefinition.Disk("local", "vm-451-cd.iso", "raw", "virtio", "fast", null, "cdrom")),
                VmDefinition.Accel.TCG, null);
        assertThat(String.join("\n", vm.problems()))
                .contains("disk bus must be ide, virtio or scsi, got 'usb'")
                .contains("aio native needs cache none or directsync, got cache 'writeback'")
                .contains("disk cache must be one of none, directsync, writethrough, writeback, unsafe, got 'fast'")
                .contains("cdrom 'vm-451-cd.iso' needs bus ide or scsi");
    }
}
