package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.EXISTS;
import static ferry.cluster.ClusterException.Reason.INVALID;
import static ferry.cluster.ClusterException.Reason.IO;
import static ferry.cluster.ClusterException.Reason.NOT_FOUND;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded cluster store: a folder shared by the nodes of one host.
 *
 * <pre>
 * cluster.json                  name, token (mode 0600), nodes
 * .lock                         guards every read and read-modify-write (FileLock + in-process lock)
 * nodes/&lt;node&gt;/vms/&lt;vmid&gt;.json  {"config": {...}, "lock": "migrate"}; the folder is the owner
 * journal/&lt;task&gt;.jsonl          open journals, one JSON entry per line
 * journal/done/&lt;task&gt;.jsonl     closed journals
 * alive/&lt;node&gt;.json              liveness claims: alive until the time they hold
 * </pre>
 *
 * Every write is a temp file + fsync + atomic rename + fsync of the folder; moving ownership is
 * one rename from one node's folder to the other's. Safe for many threads and processes.
 */
public final class DirectoryClusterStore implements ClusterStore {
    private static final Logger log = LoggerFactory.getLogger(DirectoryClusterStore.class);
    private static final String CLUSTER_FILE = "cluster.json";
    private static final Set<PosixFilePermission> OWNER_ONLY =
            Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    private static final Duration LOCK_TIMEOUT = Duration.ofSeconds(30);

    private final Path dir;
    private final ClusterConfig config;
    private final StoreLock lock;
    private final VmFolders vms;
    private final JournalFiles journals;
    private final VmRules rules;
    private final DirectoryLiveness liveness;

    private DirectoryClusterStore(Path dir, ClusterConfig config) {
        this.dir = dir;
        this.config = config;
        this.lock = io("lock the cluster folder " + dir, () -> new StoreLock(dir.resolve(".lock"), LOCK_TIMEOUT));
        this.vms = new VmFolders(dir.resolve("nodes"), config.nodeNames());
        this.journals = new JournalFiles(dir.resolve("journal"));
        this.rules = new VmRules(config);
        this.liveness = new DirectoryLiveness(dir.resolve("alive"));
    }

    /**
     * Creates a cluster in {@code dir} (missing or empty): {@code cluster.json} with a fresh token
     * and a folder per node.
     */
    public static DirectoryClusterStore create(Path dir, String clusterName, List<NodeInfo> nodes) {
        ClusterConfig config = new ClusterConfig(clusterName, ClusterConfig.newToken(), nodes == null ? List.of() : nodes);
        Path abs = dir.toAbsolutePath().normalize();
        io("create the cluster folder " + abs, () -> Files.createDirectories(abs));
        DirectoryClusterStore store = new DirectoryClusterStore(abs, config);
        store.locked("create cluster '" + clusterName + "'", () -> {
            Path file = abs.resolve(CLUSTER_FILE);
            if (Files.exists(file)) {
                throw new ClusterException(EXISTS, abs + " already holds a cluster (" + file
                        + "); open it instead, or create the new cluster in another folder");
            }
            try (Stream<Path> entries = Files.list(abs)) {
                Optional<String> stranger = entries.map(p -> p.getFileName().toString())
                        .filter(n -> !Set.of(".lock", "nodes", "journal", "alive").contains(n)
                                && !n.startsWith(AtomicFiles.TEMP_PREFIX))
                        .findFirst();
                if (stranger.isPresent()) {
                    throw new ClusterException(INVALID, abs + " is not empty (it holds '" + stranger.get()
                            + "'); create the cluster in a new or empty folder");
                }
            }
            store.vms.prepare();
            store.journals.createFolders();
            store.liveness.createFolder();
            AtomicFiles.fsyncFolder(abs.resolve("nodes"));
            AtomicFiles.write(file, Json.cluster(config), OWNER_ONLY);
            return null;
        });
        log.info("created cluster '{}' in {} with nodes {}", clusterName, abs, config.nodeNames());
        return store;
    }

    /** Opens the cluster in {@code dir}. */
    public static DirectoryClusterStore open(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        if (!Files.isDirectory(abs)) {
            throw new ClusterException(NOT_FOUND, "there is no cluster folder at " + abs
                    + "; create the cluster first, or point to the folder it was created in");
        }
        Path file = abs.resolve(CLUSTER_FILE);
        if (!Files.isRegularFile(file)) {
            throw new ClusterException(NOT_FOUND, abs + " is not a Ferry cluster folder (it has no " + CLUSTER_FILE
                    + "); create the cluster first, or point to the folder it was created in");
        }
        ClusterConfig config;
        try {
            config = Json.cluster(Files.readAllBytes(file));
        } catch (IOException e) {
            throw new ClusterException(IO, "cannot read the cluster file " + file + ": " + describe(e)
                    + "; repair it by hand or restore it from a backup", e);
        }
        warnIfReadableByOthers(file);
        DirectoryClusterStore store = new DirectoryClusterStore(abs, config);
        store.locked("open cluster '" + config.name() + "'", () -> {
            store.vms.prepare();
            store.journals.createFolders();
            store.liveness.createFolder();
            VmFolders.removeTempFiles(abs);
            return null;
        });
        return store;
    }

    /** The cluster folder. */
    public Path dir() {
        return dir;
    }

    @Override
    public ClusterConfig config() {
        return config;
    }

    @Override
    public ClusterConfig addNode(NodeInfo node) {
        ClusterConfig next = changeConfig("add node '" + node.name() + "'", now -> {
            List<NodeInfo> nodes = new ArrayList<>(now.nodes());
            nodes.add(node);
            ClusterConfig added = new ClusterConfig(now.name(), now.token(), nodes); // checks name and address
            AtomicFiles.createFolders(dir.resolve("nodes").resolve(node.name()).resolve("vms"));
            return added;
        });
        log.info("added node '{}' ({}) to cluster '{}'", node.name(), node.agentAddress(), next.name());
        return next;
    }

    @Override
    public ClusterConfig currentConfig() {
        return locked("read the cluster file", () -> Json.cluster(Files.readAllBytes(dir.resolve(CLUSTER_FILE))));
    }

    @Override
    public ClusterConfig maintenance(String node, boolean on) {
        ClusterConfig next = changeConfig((on ? "set" : "clear") + " maintenance of node '" + node + "'",
                now -> now.withMaintenance(node, on));
        log.info("node '{}': maintenance {}", node, on ? "on" : "off");
        return next;
    }

    /** Reads the cluster file, changes it and writes it back, all under the store's lock. */
    private ClusterConfig changeConfig(String what, ConfigChange change) {
        return locked(what, () -> {
            Path file = dir.resolve(CLUSTER_FILE);
            ClusterConfig now = Json.cluster(Files.readAllBytes(file));
            ClusterConfig next = change.apply(now);
            if (!next.equals(now)) {
                AtomicFiles.write(file, Json.cluster(next), OWNER_ONLY);
            }
            return next;
        });
    }

    private interface ConfigChange {
        ClusterConfig apply(ClusterConfig now) throws IOException;
    }

    @Override
    public ClusterConfig setQemu(String node, NodeQemu qemu) {
        ClusterConfig next = changeConfig("set the QEMU of node '" + node + "'", now -> now.withQemu(node, qemu));
        log.info("node '{}' of cluster '{}' runs QEMU {}", node, next.name(), qemu == null ? "installed" : qemu.binary());
        return next;
    }

    @Override
    public Optional<VmRecord> vm(int vmid) {
        Names.vmid(vmid);
        return locked("read VM " + vmid, () -> find(vmid));
    }

    @Override
    public List<VmRecord> vms() {
        return locked("list VMs", () -> {
            List<VmRecord> all = new ArrayList<>();
            for (String node : config.nodeNames()) {
                all.addAll(vms.list(node));
            }
            all.sort(Comparator.comparingInt(VmRecord::vmid));
            return all;
        });
    }

    @Override
    public List<VmRecord> vmsOf(String node) {
        rules.member(node);
        return locked("list VMs of node '" + node + "'", () -> vms.list(node));
    }

    @Override
    public VmRecord create(String owner, int vmid, ObjectNode config) {
        VmRecord r = rules.newRecord(owner, vmid, config);
        locked("create VM " + vmid + " on node '" + owner + "'", () -> {
            List<String> holders = vms.holders(vmid); // not parsed: a broken record still holds its vmid
            if (!holders.isEmpty()) {
                throw VmRules.exists(vmid, holders.get(0));
            }
            vms.write(r);
            return null;
        });
        log.info("created VM {} on node '{}'", vmid, owner);
        return r;
    }

    @Override
    public VmRecord update(int vmid, String expectedOwner, ObjectNode config, String heldLock) {
        rules.checkUpdate(vmid, expectedOwner, config, heldLock);
        return locked("update VM " + vmid + " on node '" + expectedOwner + "'", () ->
                write(rules.update(find(vmid), vmid, expectedOwner, config, heldLock)));
    }

    @Override
    public VmRecord lock(int vmid, String expectedOwner, String lockName, VmRecord.LockHolder holder) {
        rules.checkLock(vmid, expectedOwner, lockName);
        VmRecord result = locked("lock VM " + vmid + " on node '" + expectedOwner + "'", () ->
                write(rules.lock(find(vmid), vmid, expectedOwner, lockName, holder)));
        log.debug("locked VM {} ({}) on node '{}'", vmid, lockName, expectedOwner);
        return result;
    }

    @Override
    public VmRecord unlock(int vmid, String expectedOwner, String expectedLock) {
        rules.checkUnlock(vmid, expectedOwner, expectedLock);
        VmRecord unlocked = locked("unlock VM " + vmid + " on node '" + expectedOwner + "'", () -> {
            Optional<VmRecord> now = find(vmid);
            VmRecord u = rules.unlock(now, vmid, expectedOwner, expectedLock);
            if (expectedLock == null && now.orElseThrow().locked()) {
                log.info("VM {} on node '{}': clearing lock ({}) by hand", vmid, expectedOwner, now.get().lock());
            }
            return u.equals(now.orElseThrow()) ? u : write(u);
        });
        log.debug("unlocked VM {} on node '{}'", vmid, expectedOwner);
        return unlocked;
    }

    @Override
    public VmRecord move(int vmid, String from, String to) {
        rules.checkMove(vmid, from, to);
        VmRecord moved = locked("move VM " + vmid + " from node '" + from + "' to '" + to + "'", () -> {
            VmRecord m = rules.move(find(vmid), vmid, from, to);
            vms.move(vmid, from, to);
            return m;
        });
        log.info("moved VM {} from node '{}' to node '{}'", vmid, from, to);
        return moved;
    }

    @Override
    public void delete(int vmid, String expectedOwner) {
        rules.checkOwner(vmid, expectedOwner);
        locked("delete VM " + vmid + " on node '" + expectedOwner + "'", () -> {
            rules.delete(find(vmid), vmid, expectedOwner);
            vms.delete(expectedOwner, vmid);
            return null;
        });
        log.info("deleted VM {} on node '{}'", vmid, expectedOwner);
    }

    @Override
    public void appendJournal(String taskId, ObjectNode entry) {
        appendJournal(taskId, entry, -1);
    }

    @Override
    public void appendJournal(String taskId, ObjectNode entry, int expectedLength) {
        Names.taskId(taskId);
        if (entry == null) {
            throw new ClusterException(INVALID, "task " + taskId + ": journal entry is missing");
        }
        locked("append to the journal of task " + taskId, () -> {
            journals.append(taskId, entry, expectedLength);
            return null;
        });
    }

    @Override
    public List<ObjectNode> journal(String taskId) {
        Names.taskId(taskId);
        return locked("read the journal of task " + taskId, () -> journals.read(taskId));
    }

    @Override
    public List<String> openJournals() {
        return locked("list open journals", journals::openIds);
    }

    @Override
    public List<String> closedJournals() {
        return locked("list closed journals", journals::closedIds);
    }

    @Override
    public void closeJournal(String taskId) {
        Names.taskId(taskId);
        locked("close the journal of task " + taskId, () -> {
            journals.close(taskId);
            return null;
        });
    }

    @Override
    public NodeLease announce(String node, java.time.Duration ttl) {
        rules.member(node);
        return liveness.announce(node, ttl);
    }

    @Override
    public Set<String> liveNodes() {
        return io("read the liveness claims in " + dir, liveness::liveNodes);
    }

    @Override
    public String location() {
        return "directory " + dir;
    }

    @Override
    public String toString() {
        return "DirectoryClusterStore[" + config.name() + " in " + dir + "]";
    }

    // --- under the lock ---

    private Optional<VmRecord> find(int vmid) {
        List<String> holders = vms.holders(vmid);
        if (holders.isEmpty()) {
            return Optional.empty();
        }
        if (holders.size() > 1) {
            throw new ClusterException(IO, "VM " + vmid + " has a record on several nodes " + holders + " in " + dir
                    + "; keep the one of the node where the VM really runs and remove the others by hand");
        }
        return Optional.of(vms.read(holders.get(0), vmid));
    }

    private VmRecord write(VmRecord r) throws IOException {
        vms.write(r);
        return r;
    }

    // --- helpers ---

    private <T> T locked(String what, StoreLock.Body<T> body) {
        return io(what + " in " + dir, () -> lock.call(body));
    }

    private static <T> T io(String what, StoreLock.Body<T> body) {
        try {
            return body.run();
        } catch (IOException e) {
            throw new ClusterException(IO, "cannot " + what + ": " + describe(e), e);
        }
    }

    private static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or folder " + e.getMessage();
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied on " + e.getMessage();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static void warnIfReadableByOthers(Path file) {
        try {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
            if (!OWNER_ONLY.containsAll(mode)) {
                log.warn("{} holds the cluster token but is readable by others; run 'chmod 600 {}'", file, file);
            }
        } catch (UnsupportedOperationException | IOException e) {
            // not a POSIX file system: nothing to check
        }
    }
}
