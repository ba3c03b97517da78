package ferry.migration;

import ferry.node.LocalNode;
import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.node.Storage;
import ferry.node.VmDefinition;
import ferry.node.Volumes;
import ferry.protocol.Commands;
import ferry.protocol.InetSocketAddress;
import ferry.protocol.MigrateIncomingArgs;
import ferry.protocol.MigrationInfo;
import ferry.protocol.SocketAddress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The target side carried out on this node: what a target agent does when the source asks,
 * and what tests use to migrate between two nodes in one process.
 */
public final class LocalTarget implements TargetNode {
    private final LocalNode node;
    private final Volumes volumes;
    private final String migrationHost;

    public LocalTarget(LocalNode node, Volumes volumes, String migrationHost) {
        this.node = node;
        this.volumes = volumes;
        this.migrationHost = migrationHost;
    }

    @Override
    public String name() {
        return node.name();
    }

    @Override
    public Info probe() {
        return new Info(node.name(), node.qemu().version(), node.storages().keySet());
    }

    @Override
    public Endpoint startIncoming(VmDefinition vm) {
        QemuProcess q = node.startIncoming(vm);
        try {
            // port 0: QEMU picks a free port, so two migrations never race for one
            q.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder()
                    .uri("tcp:" + migrationHost + ":0").build());
            for (int i = 0; i < 100; i++) {
                MigrationInfo info = q.qmp().call(Commands.QUERY_MIGRATE);
                if (info.socketAddress() != null) {
                    for (SocketAddress a : info.socketAddress()) {
                        if (a instanceof SocketAddress.Inet inet) {
                            InetSocketAddress in = inet.value();
                            return new Endpoint(migrationHost, Integer.parseInt(in.port()));
                        }
                    }
                }
                Thread.sleep(50);
            }
            throw new NodeException("VM " + vm.vmid() + " on node '" + node.name()
                    + "' listens for the migration but QEMU did not say on which port");
        } catch (RuntimeException | InterruptedException e) {
            q.kill();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw e instanceof RuntimeException re ? re : new NodeException("interrupted");
        }
    }

    @Override
    public void resume(int vmid) {
        QemuProcess q = node.running(vmid).orElseThrow(() ->
                new NodeException("VM " + vmid + " does not run on node '" + node.name() + "'"));
        q.qmp().call(Commands.CONT);
    }

    @Override
    public void stop(int vmid) {
        node.stop(vmid, Duration.ofSeconds(10));
    }

    @Override
    public void receiveVolume(VmDefinition.Disk disk, Path from, Integer bwlimitMiBps) {
        try (InputStream in = Files.newInputStream(from)) {
            receiveVolume(disk, in, bwlimitMiBps);
        } catch (IOException e) {
            throw new NodeException("cannot read volume " + from + ": " + e.getMessage(), e);
        }
    }

    /** Writes a volume arriving as a stream; a partial file is removed when the copy fails. */
    public void receiveVolume(VmDefinition.Disk disk, InputStream in, Integer bwlimitMiBps) {
        Path to = storage(disk).volumePath(disk.volume());
        if (Files.exists(to)) {
            throw new NodeException("volume '" + disk.volume() + "' already exists on storage '" + disk.storage()
                    + "' of node '" + node.name() + "'; remove the stale copy first");
        }
        try (OutputStream out = Files.newOutputStream(to, StandardOpenOption.CREATE_NEW)) {
            ThrottledCopy.copy(in, out, bwlimitMiBps);
        } catch (IOException e) {
            volumes.delete(to);
            throw new NodeException("copy of volume '" + disk.volume() + "' to node '" + node.name() + "' failed: "
                    + e.getMessage(), e);
        }
    }

    @Override
    public List<String> freeVolumes(List<VmDefinition.Disk> disks) {
        List<String> left = new ArrayList<>();
        for (VmDefinition.Disk d : disks) {
            try {
                volumes.delete(storage(d).volumePath(d.volume()));
            } catch (RuntimeException e) {
                left.add(d.storage() + ":" + d.volume());
            }
        }
        return left;
    }

    private Storage storage(VmDefinition.Disk d) {
        Storage s = node.storages().get(d.storage());
        if (s == null) {
            throw new NodeException("storage '" + d.storage() + "' does not exist on node '" + node.name() + "'");
        }
        return s;
    }
}
