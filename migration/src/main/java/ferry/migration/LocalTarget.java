package ferry.migration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.disk.NbdServer;
import ferry.migration.disk.ThrottledCopy;
import ferry.migration.plan.LinkProbe;
import ferry.migration.policy.StreamSetup;
import ferry.migration.qemu.QemuFeatures;
import ferry.migration.qemu.QemuTls;
import ferry.node.HostMemory;
import ferry.node.LocalNode;
import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.node.Storage;
import ferry.node.VmDefinition;
import ferry.node.VolumeExists;
import ferry.node.Volumes;
import ferry.protocol.Commands;
import ferry.protocol.InetSocketAddress;
import ferry.protocol.MigrateIncomingArgs;
import ferry.protocol.MigrateRecoverArgs;
import ferry.protocol.MigrationInfo;
import ferry.protocol.SocketAddress;
import ferry.qmp.QmpCommandException;
import ferry.qmp.QmpConnectionException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The target side carried out on this node: what a target agent does when the source asks,
 * and what tests use to migrate between two nodes in one process.
 */
public final class LocalTarget implements TargetNode {
    private final LocalNode node;
    private final Volumes volumes;
    private final String migrationHost;
    private final java.util.function.Supplier<NodeTls> tls;
    private volatile long memoryReserve;

    /** A target without certificates: it accepts only plain TCP streams. */
    public LocalTarget(LocalNode node, Volumes volumes, String migrationHost) {
        this(node, volumes, migrationHost, (NodeTls) null);
    }

    /** @param tls this node's certificate and the cluster's CA; null when the cluster has none */
    public LocalTarget(LocalNode node, Volumes volumes, String migrationHost, NodeTls tls) {
        this(node, volumes, migrationHost, () -> tls);
    }

    /** @param tls asked at each incoming migration (a renewed certificate is used from the next one on) */
    public LocalTarget(LocalNode node, Volumes volumes, String migrationHost, java.util.function.Supplier<NodeTls> tls) {
        this.node = node;
        this.volumes = volumes;
        this.migrationHost = migrationHost;
        this.tls = tls;
    }

    @Override
    public String name() {
        return node.name();
    }

    @Override
    public QemuState state(int vmid) {
        return stateOf(node, vmid);
    }

    /** What runs of the VM on {@code node}: QEMU's run state and migration status, or nothing. */
    public static QemuState stateOf(LocalNode node, int vmid) {
        Optional<QemuProcess> q = node.running(vmid);
        if (q.isEmpty()) {
            return QemuState.NONE;
        }
        try {
            String run = q.get().qmp().call(Commands.QUERY_STATUS).status().wire();
            // raw: the statuses of a newer QEMU (postcopy-recover-setup, ...) are not all in the binding
            String migration = q.get().qmp().execute(Commands.QUERY_MIGRATE, null).path("status").asText("none");
            return new QemuState(true, run == null ? "unknown" : run, migration);
        } catch (ferry.qmp.QmpException e) {
            // it died while we asked
            return node.running(vmid).isEmpty() ? QemuState.NONE : new QemuState(true, "unknown", "unknown");
        }
    }

    /** Holds {@code bytes} of the host's memory back from incoming VMs (the host's own share); default none. */
    public LocalTarget memoryReserve(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("a memory reserve cannot be negative, got " + bytes);
        }
        this.memoryReserve = bytes;
        return this;
    }

    @Override
    public Info probe() {
        return new Info(node.name(), node.qemu().version(), node.storages().keySet(),
                new Memory(HostMemory.now().availableBytes(), memoryReserve));
    }

    @Override
    public QemuOffer qemuOffer() {
        return QemuOffer.of(node.qemu());
    }

    @Override
    public Endpoint startIncoming(VmDefinition vm, Set<String> capabilities, ObjectNode parameters, String source,
                                  boolean wantTls) {
        List<String> unknown = new ArrayList<>();
        if (parameters != null) {
            parameters.fieldNames().forEachRemaining(n -> {
                if (!INCOMING_PARAMETERS.contains(n)) {
                    unknown.add(n);
                }
            });
        }
        if (!unknown.isEmpty()) {
            throw new NodeException("node '" + node.name() + "' sets only " + INCOMING_PARAMETERS
                    + " on an incoming migration, not " + unknown);
        }
        NodeTls mine = wantTls ? tls.get() : null;
        if (wantTls && mine == null) {
            throw new NodeException("node '" + node.name() + "' has no certificate of the cluster (pki/nodes/"
                    + node.name() + "/ in its cluster folder), so it cannot take a TLS stream from node '" + source
                    + "'; copy its certificate there (or issue it with 'ferry cluster rotate-certs')");
        }
        if (wantTls && (source == null || source.isBlank())) {
            throw new NodeException("an incoming TLS stream needs the source node's name: only that node is admitted");
        }
        QemuProcess q = node.startIncoming(vm);
        try {
            if (wantTls) {
                // before it listens: from the first connection on, only the source's certificate is admitted
                QemuTls.load(q, node.runDir(vm.vmid()), ferry.protocol.QCryptoTLSCredsEndpoint.SERVER, mine);
                QemuTls.admitOnly(q, source);
                QemuTls.useAsServer(q);
            }
            Set<String> enabled = new TreeSet<>(capabilities);
            enabled.retainAll(QemuFeatures.capabilitiesOf(q));
            if (!enabled.isEmpty()) {
                Map<String, Boolean> on = new LinkedHashMap<>();
                enabled.forEach(c -> on.put(c, true));
                q.qmp().execute(Commands.MIGRATE_SET_CAPABILITIES, StreamSetup.capabilityArgs(on));
            }
            if (parameters != null && !parameters.isEmpty()) {
                q.qmp().execute(Commands.MIGRATE_SET_PARAMETERS, parameters);
            }
            // port 0: QEMU picks a free port, so two migrations never race for one
            q.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder()
                    .uri("tcp:" + migrationHost + ":0").build());
            return new Endpoint(migrationHost, listeningPort(q, vm.vmid()), enabled);
        } catch (RuntimeException e) {
            q.kill();
            throw e;
        }
    }

    @Override
    public Endpoint recover(int vmid) {
        QemuProcess q = node.running(vmid).orElseThrow(() ->
                new NodeException("VM " + vmid + " does not run on node '" + node.name() + "'; nothing to recover"));
        String status = q.qmp().execute(Commands.QUERY_MIGRATE, null).path("status").asText();
        if (status.equals("postcopy-paused")) {
            try {
                // out of band: the main loop of a paused postcopy target may be stuck on a page fault
                q.qmp().callOob(Commands.MIGRATE_RECOVER, MigrateRecoverArgs.builder()
                        .uri("tcp:" + migrationHost + ":0").build(), Duration.ofSeconds(10));
            } catch (QmpCommandException e) {
                // it listens already (an earlier attempt of ours): that listener is the endpoint
                if (!e.description().contains("already")) {
                    throw e;
                }
            }
        } else if (!status.startsWith("postcopy-recover")) {
            throw new NodeException("VM " + vmid + " on node '" + node.name() + "' does not wait for a postcopy "
                    + "recovery (migration status '" + status + "')");
        }
        return new Endpoint(migrationHost, listeningPort(q, vmid), Set.of());
    }

    /** The port of QEMU's newest TCP listener: the last one {@code query-migrate} lists. */
    private int listeningPort(QemuProcess q, int vmid) {
        for (int i = 0; i < 100; i++) {
            MigrationInfo info = q.qmp().call(Commands.QUERY_MIGRATE);
            if (info.socketAddress() != null) {
                Integer port = null;
                for (SocketAddress a : info.socketAddress()) {
                    if (a instanceof SocketAddress.Inet inet) {
                        InetSocketAddress in = inet.value();
                        port = Integer.parseInt(in.port());
                    }
                }
                if (port != null) {
                    return port;
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NodeException("interrupted");
            }
        }
        throw new NodeException("VM " + vmid + " on node '" + node.name()
                + "' listens for the migration but QEMU did not say on which port");
    }

    @Override
    public Endpoint probeSink() {
        try {
            ServerSocket server = new ServerSocket();
            server.bind(new java.net.InetSocketAddress(migrationHost, 0));
            server.setSoTimeout(10_000);
            Thread.ofVirtual().name("ferry-probe-sink").start(() -> drain(server));
            return new Endpoint(migrationHost, server.getLocalPort(), Set.of());
        } catch (IOException e) {
            throw new NodeException("cannot open a link probe on " + migrationHost + " (node '" + node.name() + "'): "
                    + e.getMessage(), e);
        }
    }

    /** Takes one connection and discards what it sends, for at most {@link LinkProbe#MAX_SECONDS}. */
    private static void drain(ServerSocket server) {
        try (server; Socket s = server.accept()) {
            s.setSoTimeout(1000);
            InputStream in = s.getInputStream();
            byte[] buf = new byte[1 << 20];
            long end = System.nanoTime() + LinkProbe.MAX_SECONDS * 1_000_000_000L;
            while (System.nanoTime() < end && in.read(buf) >= 0) {
                // discard
            }
        } catch (IOException ignored) {
            // the prober went away or never came: nothing to clean up beyond the socket
        }
    }

    @Override
    public Map<String, StorageInfo> storages() {
        Map<String, StorageInfo> out = new LinkedHashMap<>();
        for (Storage s : node.storages().values()) {
            long usable;
            try {
                usable = Files.getFileStore(s.path()).getUsableSpace();
            } catch (IOException e) {
                usable = 0; // a storage whose folder is missing takes nothing
            }
            out.put(s.id(), new StorageInfo(s.id(), s.shared(), usable));
        }
        return out;
    }

    @Override
    public void createVolume(VmDefinition.Disk disk, long virtualSize) {
        if (Files.exists(storage(disk).volumePath(disk.volume()))) {
            throw new VolumeExists(disk.storage(), disk.volume(), node.name()); // said with the node's name
        }
        volumes.create(storage(disk), disk.volume(), disk.formatOrRaw(), virtualSize);
    }

    @Override
    public Endpoint exportDisks(int vmid, List<String> drives) {
        QemuProcess q = node.running(vmid).orElseThrow(() ->
                new NoQemuException("VM " + vmid + " does not run on node '" + node.name() + "'; nothing to export"));
        String status = q.qmp().call(Commands.QUERY_STATUS).status().wire();
        if (!"inmigrate".equals(status)) {
            // only an incoming QEMU's disks may be written from outside: a running guest owns its disks
            throw new MigrationRefused("VM " + vmid + " on node '" + node.name() + "' is '" + status
                    + "', not waiting for a migration; its disks are not exported");
        }
        int port = NbdServer.start(q, migrationHost, vmid, node.name());
        try {
            for (String drive : drives) {
                NbdServer.export(q, drive);
            }
        } catch (RuntimeException e) {
            NbdServer.stop(q);
            throw new NodeException("cannot export the disks of VM " + vmid + " on node '" + node.name() + "': "
                    + e.getMessage(), e);
        }
        return new Endpoint(migrationHost, port, Set.of());
    }

    @Override
    public void resume(int vmid) {
        QemuProcess q = node.running(vmid).orElseThrow(() ->
                new NoQemuException("VM " + vmid + " does not run on node '" + node.name() + "'"));
        try {
            // a disk mirror's exports end first: once the guest runs, nothing but it may write its disks
            NbdServer.stop(q);
            q.qmp().call(Commands.CONT);
        } catch (QmpConnectionException e) {
            if (e.sent()) {
                throw e; // it may have run the guest before it died: the source must not take the guest back
            }
            // 'cont' was never written (the QEMU closed its QMP socket, e.g. it died just now): look again
            QemuProcess again = node.running(vmid).orElseThrow(() -> new NoQemuException("VM " + vmid
                    + " does not run on node '" + node.name() + "': its QEMU was gone before it was told to run the"
                    + " guest (" + e.getMessage() + ")"));
            again.qmp().call(Commands.CONT);
        }
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
            throw new VolumeExists(disk.storage(), disk.volume(), node.name());
        }
        try (OutputStream out = Files.newOutputStream(to, StandardOpenOption.CREATE_NEW)) {
            ThrottledCopy.copy(in, out, bwlimitMiBps);
        } catch (java.nio.file.FileAlreadyExistsException e) { // created meanwhile: not ours to remove
            throw new VolumeExists(disk.storage(), disk.volume(), node.name());
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
