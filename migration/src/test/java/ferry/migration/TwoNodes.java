package ferry.migration;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.DirectoryClusterStore;
import ferry.cluster.NodeInfo;
import ferry.cluster.pki.ClusterPki;
import ferry.node.LocalNode;
import ferry.node.QemuBinary;
import ferry.node.Storage;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Two nodes of one cluster in this process (a and b), each with a shared and two local storages
 * ({@code local}, {@code other}),
 * and a migration from a to b carried out through {@link LocalTarget}. Stops every QEMU on close.
 */
public final class TwoNodes implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    final Path dir;
    final DirectoryClusterStore store;
    final QemuBinary qemu = QemuBinary.find();
    public final Volumes volumes = new Volumes(qemu.qemuImg());
    public final LocalNode a;
    public final LocalNode b;

    public TwoNodes(Path dir) throws IOException {
        this(dir, null, null);
    }

    /** Nodes whose VMs run with these QEMUs (null: the installed one), e.g. QEMU 7.2 on a and 10.0 on b. */
    TwoNodes(Path dir, QemuBinary qemuA, QemuBinary qemuB) throws IOException {
        this.dir = dir;
        store = DirectoryClusterStore.create(dir.resolve("cluster"), "test", List.of(
                new NodeInfo("a", "127.0.0.1:1", "127.0.0.1"), new NodeInfo("b", "127.0.0.1:2", "127.0.0.1")));
        Files.createDirectories(dir.resolve("shared"));
        a = node("a", qemuA == null ? qemu : qemuA);
        b = node("b", qemuB == null ? qemu : qemuB);
    }

    private LocalNode node(String name, QemuBinary qemu) throws IOException {
        Path local = Files.createDirectories(dir.resolve("local-" + name));
        Path other = Files.createDirectories(dir.resolve("other-" + name));
        return new LocalNode(name, qemu, Map.of("shared", new Storage("shared", dir.resolve("shared"), true),
                "local", new Storage("local", local, false), "other", new Storage("other", other, false)),
                dir.resolve("run-" + name));
    }

    /** A bootblock VM on the shared storage, defined on node a. */
    public VmDefinition bootblockVm(int vmid, BootblockGuest guest) throws IOException {
        String volume = "vm-" + vmid + "-disk-0.raw";
        Files.copy(Bootblock.image(BootblockGuest.cacheDir(), guest.regionEnd(), guest.delay()),
                dir.resolve("shared").resolve(volume));
        VmDefinition vm = new VmDefinition(vmid, "bootblock-" + vmid, guest.memoryMiB(), 1, "pc", "qemu64", null,
                List.of(new VmDefinition.Disk("shared", volume, "raw", "ide")), VmDefinition.Accel.TCG, null);
        store.create("a", vmid, JSON.valueToTree(vm));
        return vm;
    }

    public VmDefinition define(String owner, VmDefinition vm) {
        store.create(owner, vm.vmid(), (ObjectNode) JSON.valueToTree(vm));
        return vm;
    }

    /**
     * Makes the cluster's CA and certificates for a, b and a third node c, which takes no part in
     * migrations: a stranger whose certificate is valid but names someone else.
     */
    void withCertificates() {
        ClusterPki.create(dir.resolve("cluster"), "test", List.of(new NodeInfo("a", "127.0.0.1:1", "127.0.0.1"),
                new NodeInfo("b", "127.0.0.1:2", "127.0.0.1"), new NodeInfo("c", "127.0.0.1:3", "127.0.0.1")));
    }

    NodeTls tls(String node) {
        return NodeTls.of(dir.resolve("cluster"), node).orElseThrow();
    }

    /** Node b's target side with its certificate. */
    LocalTarget tlsTargetB() {
        return new LocalTarget(b, volumes, "127.0.0.1", tls("b"));
    }

    /** A migration from a whose streams go over TLS, a presenting {@code as}'s certificate. */
    Migration tlsMigrationFromA(String as, java.util.function.Function<String, TargetNode> targets) {
        return new Migration(store, a, volumes, targets).tls(tls(as)).pollInterval(Duration.ofMillis(300));
    }

    public Migration migrationFromA() {
        return new Migration(store, a, volumes, name -> new LocalTarget(name.equals("b") ? b : a, volumes, "127.0.0.1"))
                .pollInterval(Duration.ofMillis(300));
    }

    @Override
    public void close() {
        for (LocalNode n : List.of(a, b)) {
            try (var runs = Files.list(n.runDir(0).getParent())) {
                runs.forEach(d -> n.stop(Integer.parseInt(d.getFileName().toString()), Duration.ofSeconds(3)));
            } catch (IOException | RuntimeException ignored) {
                // nothing ran on this node
            }
        }
    }
}
