package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.node.VmDefinition;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OfflineMigrationTest {
    @TempDir
    Path dir;

    private static VmDefinition vm(int vmid, String storage, String volume, String format) {
        return new VmDefinition(vmid, "vm" + vmid, 64, 1, "pc", "qemu64", null,
                List.of(new VmDefinition.Disk(storage, volume, format, "virtio")), VmDefinition.Accel.TCG, null);
    }

    private static String sha256(Path p) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(p)) {
            md.update(in.readAllBytes());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void stoppedVmWithLocalQcow2IsCopiedAndTheSourceFreed() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            Path src = nodes.volumes.create(nodes.a.storages().get("local"), "vm-200-disk-0.qcow2", "qcow2", 8 << 20);
            // give the image content, so the checksum compares data and not just an empty header
            try (var ch = java.nio.channels.FileChannel.open(src, java.nio.file.StandardOpenOption.WRITE,
                    java.nio.file.StandardOpenOption.APPEND)) {
                ch.write(java.nio.ByteBuffer.wrap("some bytes of vm 200".repeat(1000).getBytes()));
            }
            String before = sha256(src);
            nodes.define("a", vm(200, "local", "vm-200-disk-0.qcow2", "qcow2"));

            MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(200, "b", false, false, 50, null, null),
                    "task-off", new TaskLog(), new CancelSignal());

            assertThat(r.status()).as(String.join("\n", r.log())).isEqualTo(MigrationResult.Status.COMPLETED);
            Path copy = nodes.b.storages().get("local").volumePath("vm-200-disk-0.qcow2");
            assertThat(sha256(copy)).isEqualTo(before);
            assertThat(src).doesNotExist();
            assertThat(nodes.store.vm(200).orElseThrow().owner()).isEqualTo("b");
            assertThat(nodes.store.vm(200).orElseThrow().lock()).isNull();
            assertThat(String.join("\n", r.log())).contains("copying volume 'local:vm-200-disk-0.qcow2'");
        }
    }

    /** --target-storage applies offline too; a qcow2 moves as its allocated clusters, not its virtual size. */
    @Test
    void stoppedVmsQcow2GoesToTheMappedStorageAndStaysSparse() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            Path src = nodes.volumes.create(nodes.a.storages().get("local"), "vm-203-disk-0.qcow2", "qcow2", 1L << 30);
            LocalDiskMigrationTest.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 512M 8M", src.toString());
            nodes.define("a", vm(203, "local", "vm-203-disk-0.qcow2", "qcow2"));
            MigrationRequest req = new MigrationRequest(203, "b", false, false, null, null, null)
                    .withDisks(new MigrationRequest.DiskOptions(false, "local:other", false));
            MigrationResult r = nodes.migrationFromA().run(req, "task-map", new TaskLog(), new CancelSignal());

            assertThat(r.status()).as(String.join("\n", r.log())).isEqualTo(MigrationResult.Status.COMPLETED);
            Path copy = nodes.b.storages().get("other").volumePath("vm-203-disk-0.qcow2");
            assertThat(Files.size(copy)).as("about the 8 MiB written, not 1 GiB").isLessThan(12L << 20);
            assertThat(nodes.volumes.info(copy).virtualSize()).isEqualTo(1L << 30);
            assertThat(nodes.store.vm(203).orElseThrow().config().path("disks").get(0).path("storage").asText())
                    .isEqualTo("other");
            assertThat(src).doesNotExist();
        }
    }

    @Test
    void volumeOnSharedStorageIsNotCopied() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            Path shared = nodes.volumes.create(nodes.a.storages().get("shared"), "vm-201-disk-0.raw", "raw", 1 << 20);
            nodes.define("a", vm(201, "shared", "vm-201-disk-0.raw", "raw"));
            MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(201, "b", false, false, null, null, null),
                    "task-sh", new TaskLog(), new CancelSignal());
            assertThat(r.status()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(shared).exists();
            assertThat(String.join("\n", r.log())).doesNotContain("copying volume");
            assertThat(nodes.store.vm(201).orElseThrow().owner()).isEqualTo("b");
        }
    }

    @Test
    void failedCopyRemovesThePartialCopyAndUnlocks() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.volumes.create(nodes.a.storages().get("local"), "vm-202-disk-0.raw", "raw", 1 << 20);
            nodes.define("a", vm(202, "local", "vm-202-disk-0.raw", "raw"));
            // a stale copy on the target makes the copy fail before it writes
            Path stale = nodes.b.storages().get("local").volumePath("vm-202-disk-0.raw");
            Files.writeString(stale, "stale");
            MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(202, "b", false, false, null, null, null),
                    "task-fail", new TaskLog(), new CancelSignal());
            assertThat(r.status()).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(r.error()).contains("already exists");
            assertThat(nodes.store.vm(202).orElseThrow().owner()).isEqualTo("a");
            assertThat(nodes.store.vm(202).orElseThrow().lock()).isNull();
            assertThat(nodes.a.storages().get("local").volumePath("vm-202-disk-0.raw")).exists();
        }
    }
}
