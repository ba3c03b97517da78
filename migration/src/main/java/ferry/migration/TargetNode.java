package ferry.migration;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.node.VmDefinition;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The target side of a migration, as the source's orchestrator sees it: a remote agent, or this process. */
public interface TargetNode {
    /** The parameters a target sets on its incoming QEMU: all it needs to decode a multifd stream. */
    Set<String> INCOMING_PARAMETERS = Set.of("multifd-channels", "multifd-compression");

    /**
     * What a target offers: its QEMU version, the storages it has, and its memory (null when its
     * agent did not say: one from before the memory check).
     */
    record Info(String node, String qemuVersion, Set<String> storages, Memory memory) {
        public Info(String node, String qemuVersion, Set<String> storages) {
            this(node, qemuVersion, storages, null);
        }
    }

    /**
     * The target host's memory: the kernel's MemAvailable and what its agent holds back for the
     * host ({@code ferry agent --memory-reserve}); a VM may take only the rest.
     */
    record Memory(long availableBytes, long reservedBytes) {
        public long forVms() {
            return Math.max(0, availableBytes - reservedBytes);
        }
    }

    /** A storage of the target: shared with other nodes or its own, and the bytes it can still take. */
    record StorageInfo(String id, boolean shared, long usableBytes) {}

    /**
     * Where the target QEMU listens for the migration stream, and which of the requested
     * capabilities it enabled (those it has).
     */
    record Endpoint(String host, int port, Set<String> capabilities) {
        public Endpoint {
            capabilities = capabilities == null ? Set.of() : Set.copyOf(capabilities);
        }

        public String uri() {
            return "tcp:" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }
    }

    /**
     * What runs of a VM on a node, in QEMU's own words: whether a QEMU exists, its run state
     * ({@code running}, {@code paused}, {@code postmigrate}, {@code inmigrate}, ...) and its
     * migration status ({@code none}, {@code active}, {@code completed}, {@code postcopy-active}, ...).
     */
    record QemuState(boolean exists, String runState, String migration) {
        public static final QemuState NONE = new QemuState(false, "none", "none");

        public boolean running() {
            return exists && "running".equals(runState);
        }
    }

    /** The target answered that no QEMU of the VM runs there (so nothing it was asked to do happened). */
    final class NoQemuException extends RuntimeException {
        public NoQemuException(String message) {
            super(message);
        }
    }

    String name();

    /** The VM's QEMU on the target, as it is now; throws when the target does not answer. */
    QemuState state(int vmid);

    /** Answers only when the target is reachable and accepts this node's certificate (mutual TLS). */
    Info probe();

    /** What the target's QEMU offers a migration (asked of that QEMU; the first call may take a second). */
    QemuOffer qemuOffer();

    /**
     * Starts the VM's QEMU paused and waiting for the stream, with those of {@code capabilities}
     * (wire names) on that its QEMU has and with {@code parameters} (only what decoding the stream
     * needs: multifd's channels and compression); returns the port QEMU picked. With {@code tls}
     * the stream (and a disk mirror's NBD server) goes over QEMU's TLS with the target node's
     * certificate and admits only a peer presenting node {@code source}'s.
     */
    Endpoint startIncoming(VmDefinition vm, Set<String> capabilities, ObjectNode parameters, String source,
                           boolean tls);

    /**
     * After a broken postcopy link: makes the paused target listen again ({@code migrate-recover})
     * and returns where; when it already listens, returns that endpoint again.
     */
    Endpoint recover(int vmid);

    /**
     * Opens a one-shot sink on the target's migration address that discards what it receives:
     * the planner measures the link by sending to it for a moment.
     */
    Endpoint probeSink();

    /** Lets the migrated VM run (after ownership moved here); {@link NoQemuException} when no QEMU of it runs. */
    void resume(int vmid);

    /** Stops the VM's QEMU on the target, if it runs. */
    void stop(int vmid);

    /** Copies a volume of a stopped VM to the target's storage of the same id. */
    void receiveVolume(VmDefinition.Disk disk, Path from, Integer bwlimitMiBps);

    /** The target's storages by id. */
    Map<String, StorageInfo> storages();

    /**
     * Creates an empty volume for a disk mirror: the disk's format and {@code virtualSize} (a qcow2
     * is created sparse); refuses to overwrite an existing one.
     */
    void createVolume(VmDefinition.Disk disk, long virtualSize);

    /**
     * Lets the VM's incoming QEMU serve {@code drives} (drive ids such as {@code disk0}) writable over
     * NBD on the migration address, one export per drive named like it; returns where it listens.
     * The exports end when the target is resumed ({@link #resume}) or stopped.
     */
    Endpoint exportDisks(int vmid, List<String> drives);

    /** Removes volumes the migration put on the target; returns those it could not remove. */
    List<String> freeVolumes(List<VmDefinition.Disk> disks);
}
