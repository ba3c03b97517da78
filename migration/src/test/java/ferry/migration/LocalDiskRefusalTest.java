package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.node.VmDefinition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prepare's refusals for a running VM's disks (real QEMU runs the guest): each names the volume and
 * the way out, and changes nothing, neither here nor on the target.
 */
class LocalDiskRefusalTest {
    @TempDir
    Path dir;

    @Test
    void disksThatCannotMoveLiveAreRefusedWithTheReason() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = LocalDiskMigrationTest.withDataDisk(nodes, 440, "raw", "virtio");
            nodes.a.start(vm).detach();

            assertThat(refusal(nodes, disks(false, null, false)))
                    .contains("runs with local volumes on node 'a': local:vm-440-disk-1.raw (64.0 MiB raw)")
                    .contains("--with-local-disks");
            assertThat(refusal(nodes, disks(true, "local:shared", false)))
                    .contains("target storage 'shared' for volume 'local:vm-440-disk-1.raw' is shared");
            assertThat(refusal(nodes, disks(true, "nowhere", false)))
                    .contains("target storage 'nowhere'").contains("does not exist on target node 'b'");
            assertThat(refusal(nodes, disks(true, "local:b:c", false))).contains("is not src:dst");
            assertThat(refusal(nodes, base().withDisks(new MigrationRequest.DiskOptions(true, null, false, "fast"))))
                    .contains("--mirror-mode must be one of auto, background, write-blocking, got 'fast'");

            // a sparse 1 TiB raw volume: its copy could grow to 1 TiB, more than any test disk has free
            Path huge = nodes.volumes.create(nodes.a.storages().get("local"), "vm-440-disk-2.raw", "raw", 1L << 40);
            withDisk(nodes, new VmDefinition.Disk("local", "vm-440-disk-2.raw", "raw", "virtio"));
            assertThat(refusal(nodes, disks(true, null, false)))
                    .containsPattern("target storage 'local' on node 'b' has .* free, the volumes going there need "
                            + "1\\.0 TiB")
                    .contains("raw: virtual size; qcow2: allocated size plus 10% headroom");
            Files.delete(huge);
            withoutExtraDisk(nodes);

            // a disk on shared storage with the host's page cache in between
            Path shared = nodes.volumes.create(nodes.a.storages().get("shared"), "vm-440-disk-3.raw", "raw", 1 << 20);
            withDisk(nodes, new VmDefinition.Disk("shared", "vm-440-disk-3.raw", "raw", "virtio", "writeback", null,
                    null));
            assertThat(refusal(nodes, disks(true, null, false)))
                    .contains("volume 'shared:vm-440-disk-3.raw' on shared storage runs with cache 'writeback'")
                    .contains("--unsafe");
            Migration.Prepared ok = nodes.migrationFromA().prepare(
                    base().withDisks(new MigrationRequest.DiskOptions(true, null, true)), "t", new TaskLog());
            assertThat(ok.request().disks().unsafe()).isTrue();
            Files.delete(shared);
            withoutExtraDisk(nodes);

            // a cdrom image on local storage is a local device
            Path iso = nodes.volumes.create(nodes.a.storages().get("local"), "vm-440-cd.iso", "raw", 1 << 20);
            withDisk(nodes, new VmDefinition.Disk("local", "vm-440-cd.iso", "raw", "ide", null, null, "cdrom"));
            assertThat(refusal(nodes, disks(true, null, false)))
                    .contains("cdrom 'local:vm-440-cd.iso' on local storage: a local device").contains("--force");
            Files.delete(iso);

            assertThat(nodes.b.storages().get("local").path()).isEmptyDirectory();
            assertThat(nodes.b.storages().get("other").path()).isEmptyDirectory();
            assertThat(nodes.store.vm(440).orElseThrow().lock()).isNull();
            assertThat(nodes.store.openJournals()).isEmpty();
            assertThat(nodes.b.status(440).state()).isEqualTo(ferry.node.LocalNode.State.STOPPED);
            nodes.a.stop(440, Duration.ofSeconds(5));
        }
    }

    private static MigrationRequest base() {
        return new MigrationRequest(440, "b", true, false, null, null, null);
    }

    private static MigrationRequest disks(boolean with, String map, boolean unsafe) {
        return base().withDisks(new MigrationRequest.DiskOptions(with, map, unsafe));
    }

    private static String refusal(TwoNodes nodes, MigrationRequest req) {
        Throwable e = catchThrowable(() -> nodes.migrationFromA().prepare(req, "t", new TaskLog()));
        assertThat(e).isInstanceOf(MigrationRefused.class);
        return e.getMessage();
    }

    /** The record names one more disk (QEMU runs without it: prepare reads the record). */
    private static void withDisk(TwoNodes nodes, VmDefinition.Disk extra) {
        ObjectNode config = nodes.store.vm(440).orElseThrow().config().deepCopy();
        config.withArray("disks").add(TwoNodes.JSON.valueToTree(extra));
        nodes.store.update(440, "a", config);
    }

    private static void withoutExtraDisk(TwoNodes nodes) {
        ObjectNode config = nodes.store.vm(440).orElseThrow().config().deepCopy();
        config.withArray("disks").remove(2);
        nodes.store.update(440, "a", config);
    }
}
