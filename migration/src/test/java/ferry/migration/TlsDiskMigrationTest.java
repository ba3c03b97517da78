package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.testkit.BootblockGuest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A local disk mirrored over NBD with TLS (real QEMU): the target's NBD server takes the same
 * credentials and authorization as its migration stream, the source's NBD client the same
 * credentials as its stream. The disk must arrive byte for byte, and while it is served, a client
 * without the source's certificate gets nothing.
 */
@Timeout(180)
class TlsDiskMigrationTest {
    @TempDir
    Path dir;

    @Test
    void theMirrorsNbdStreamGoesOverTlsAndTheDiskArrivesWhole() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.withCertificates();
            VmDefinition vm = LocalDiskMigrationTest.withDataDisk(nodes, 710, "raw", "virtio");
            QemuProcess q = nodes.a.start(vm);
            BootblockGuest.awaitPasses(q, 1, Duration.ofSeconds(30));
            List<TargetNode.Endpoint> exports = new ArrayList<>();
            TargetNode b = new ForwardingTarget(nodes.tlsTargetB()) {
                @Override
                public Endpoint exportDisks(int vmid, List<String> drives) {
                    Endpoint ep = real.exportDisks(vmid, drives);
                    exports.add(ep);
                    return ep;
                }
            };
            List<String> hmp = new ArrayList<>();
            List<String> plainClient = new ArrayList<>();
            Migration m = nodes.tlsMigrationFromA("a", n -> b).onStep((task, step) -> {
                if (step == MigrationStep.MIGRATE) {
                    // the mirrors are write-blocking now: this write must reach the target before it completes
                    hmp.add(LocalDiskMigrationTest.qemuIo(nodes.a, 710, "write -P 0x5a "
                            + LocalDiskMigrationTest.B_OFFSET + " " + LocalDiskMigrationTest.PATTERN_B));
                    TargetNode.Endpoint ep = exports.get(0);
                    plainClient.add(run("qemu-img", "info", "nbd://" + ep.host() + ":" + ep.port() + "/disk1"));
                }
            });
            MigrationResult r = m.run(new MigrationRequest(710, "b", true, false, 32, null, null)
                    .withDisks(new MigrationRequest.DiskOptions(true, null, false)), "task-710", new TaskLog(),
                    new CancelSignal());
            String log = String.join("\n", r.log());
            System.out.println(log);
            System.out.println("plain NBD client: " + plainClient);
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.tls()).isTrue();
            assertThat(log).contains("the migration stream and the disks' NBD stream over TLS")
                    .containsPattern("NBD server on node 'b' at 127.0.0.1:\\d+ exports disk1 over TLS");
            assertThat(hmp).containsExactly("");
            assertThat(plainClient).hasSize(1);
            assertThat(plainClient.get(0)).as("a client without TLS is turned away").startsWith("exit 1")
                    .containsIgnoringCase("TLS");
            nodes.b.stop(710, Duration.ofSeconds(5));
            Path copy = nodes.b.storages().get("local").volumePath(LocalDiskMigrationTest.dataVolume(710, "raw"));
            byte[] got = LocalDiskMigrationTest.asRaw(nodes, copy, "raw");
            assertThat(Arrays.equals(got, LocalDiskMigrationTest.expected())).as("target image byte for byte").isTrue();
            TlsMigrationTest.assertNoKeyMaterial(nodes, r.log(), false);
        }
    }

    /** Runs a command; its exit code and output, as one string. */
    private static String run(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            return "exit " + p.exitValue() + ": " + out;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
