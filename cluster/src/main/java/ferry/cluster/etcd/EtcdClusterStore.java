package ferry.cluster.etcd;

import static ferry.cluster.ClusterException.Reason.EXISTS;
import static ferry.cluster.ClusterException.Reason.INVALID;
import static ferry.cluster.ClusterException.Reason.IO;
import static ferry.cluster.ClusterException.Reason.NOT_FOUND;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterConfig;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import ferry.cluster.Json;
import ferry.cluster.Names;
import ferry.cluster.NodeInfo;
import ferry.cluster.NodeLease;
import ferry.cluster.StoreAddress;
import ferry.cluster.VmRecord;
import ferry.cluster.VmRules;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster store for nodes on several hosts: the records live in etcd under
 * {@code /ferry/<cluster>/}, and every change is one etcd transaction that holds only if the key
 * still has the revision it was read at, so of two racing callers exactly one wins.
 *
 * <pre>
 * config                       name, token, nodes
 * vm/&lt;vmid&gt;                    {"owner": "a", "config": {...}, "lock": "migrate"}
 * journal/&lt;task&gt;/&lt;seq&gt;        one entry per key, in order
 * closed/&lt;task&gt;                the journal is closed
 * alive/&lt;node&gt;                 liveness claim, attached to the node's lease
 * </pre>
 */
public final class EtcdClusterStore implements ClusterStore {
    private static final Logger log = LoggerFactory.getLogger(EtcdClusterStore.class);
    private static final ByteSequence CONFIG = bytes("config");
    /** How long an agent's store waits for an etcd that does not answer (e.g. while it restarts). */
    public static final Duration PATIENCE = EtcdCalls.PATIENCE;

    private static final Set<String> PLAIN_WARNED = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private final StoreAddress address;
    private final Client client;
    private final KV kv;
    private final EtcdCalls calls;
    private final ClusterConfig config;
    private final VmRules rules;

    private EtcdClusterStore(StoreAddress address, Client client, EtcdCalls calls, ClusterConfig config) {
        this.address = address;
        this.client = client;
        this.kv = client.getKVClient();
        this.calls = calls;
        this.config = config;
        this.rules = new VmRules(config);
    }

    /** Creates cluster {@code name} in the plain etcd at {@code address}; refuses a name that etcd already holds. */
    public static EtcdClusterStore create(StoreAddress address, String name, List<NodeInfo> nodes) {
        return create(address, name, nodes, null);
    }

    /**
     * Creates cluster {@code name} in the etcd at {@code address}, over mutual TLS with {@code tls}
     * when the address is {@code etcds://}; refuses a name that etcd already holds.
     */
    public static EtcdClusterStore create(StoreAddress address, String name, List<NodeInfo> nodes, EtcdTls tls) {
        ClusterConfig config = new ClusterConfig(name, ClusterConfig.newToken(), nodes == null ? List.of() : nodes);
        Client client = connect(address, name, tls);
        try {
            EtcdCalls calls = new EtcdCalls(address, EtcdCalls.PATIENCE, tls);
            byte[] body = encode(() -> Json.cluster(config));
            String what = "create cluster '" + name + "'";
            long deadline = calls.deadline();
            while (true) {
                Optional<TxnResponse> r = calls.attempt(() -> client.getKVClient().txn()
                        .If(new Cmp(CONFIG, Cmp.Op.EQUAL, CmpTarget.version(0)))
                        .Then(Op.put(CONFIG, ByteSequence.from(body), PutOption.DEFAULT)).commit());
                if (r.isPresent() && r.get().isSucceeded()) {
                    break;
                }
                Optional<ClusterConfig> there = readConfig(client, calls, address, name);
                if (there.isPresent() && there.get().token().equals(config.token())) {
                    break; // our own write, whose answer was lost
                }
                if (there.isPresent()) {
                    throw new ClusterException(EXISTS, "etcd at " + address + " already holds a cluster named '" + name
                            + "'; open it (point a cluster folder to it), or pick another name");
                }
                calls.pause(what, deadline);
            }
            log.info("created cluster '{}' in etcd at {} with nodes {}", name, address, config.nodeNames());
            return new EtcdClusterStore(address, client, calls, config);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    /** Opens cluster {@code name} in the etcd at {@code address}; operations wait up to 30 s for an etcd that is away. */
    public static EtcdClusterStore open(StoreAddress address, String name) {
        return open(address, name, PATIENCE);
    }

    /** Opens cluster {@code name}; every operation waits at most {@code patience} for an etcd that does not answer. */
    public static EtcdClusterStore open(StoreAddress address, String name, Duration patience) {
        return open(address, name, patience, null);
    }

    /** The same over mutual TLS with {@code tls} when the address is {@code etcds://}. */
    public static EtcdClusterStore open(StoreAddress address, String name, Duration patience, EtcdTls tls) {
        Names.name("cluster", name);
        Client client = connect(address, name, tls);
        EtcdCalls calls = new EtcdCalls(address, patience, tls);
        try {
            ClusterConfig config = readConfig(client, calls, address, name)
                    .orElseThrow(() -> new ClusterException(NOT_FOUND, "etcd at " + address + " holds no cluster named '"
                            + name + "'; create it with 'ferry cluster create " + name + " --store " + address + " ...'"));
            return new EtcdClusterStore(address, client, calls, config);
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
    }

    private static Client connect(StoreAddress address, String name, EtcdTls tls) {
        if (!address.isEtcd()) {
            throw new ClusterException(INVALID, "not an etcd store: " + address);
        }
        if (address.isTls() && tls == null) {
            throw new ClusterException(INVALID, "the etcd at " + address + " speaks TLS: a client needs a certificate "
                    + "of the cluster's CA (pki/ in the cluster folder)");
        }
        ClientBuilder b = Client.builder().endpoints(address.etcdEndpoints())
                .namespace(bytes("/ferry/" + Names.name("cluster", name) + "/"))
                .connectTimeout(Duration.ofSeconds(3))
                .retryMaxDuration(Duration.ofSeconds(3));
        if (address.isTls()) {
            // jetcd dials all endpoints under one authority, which TLS checks against the server's
            // certificate: cluster create issues one etcd certificate that names every endpoint's host
            b.sslContext(tls.sslContext()).authority(address.etcdEndpoints().get(0).getHost()); // [v6] in brackets
        } else if (PLAIN_WARNED.add(address.toString())) { // once per process: the CLI opens a store several times
            log.warn("cluster '{}': etcd at {} is spoken to without TLS; anyone who reaches its port can rewrite the "
                    + "cluster's records (use etcds:// with the cluster's certificates)", name, address);
        }
        return b.build();
    }

    private static Optional<ClusterConfig> readConfig(Client client, EtcdCalls calls, StoreAddress address, String name) {
        GetResponse r = calls.read("read cluster '" + name + "'", () -> client.getKVClient().get(CONFIG));
        if (r.getKvs().isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.cluster(r.getKvs().get(0).getValue().getBytes()));
        } catch (IOException e) {
            throw new ClusterException(IO, "the config of cluster '" + name + "' in etcd at " + address
                    + " (key /ferry/" + name + "/config) cannot be read: " + e.getMessage() + "; repair it by hand", e);
        }
    }

    @Override
    public ClusterConfig config() {
        return config;
    }

    @Override
    public ClusterConfig addNode(NodeInfo node) {
        ClusterConfig next = changeConfig("add node '" + node.name() + "' to cluster '" + config.name() + "'", now -> {
            List<NodeInfo> nodes = new ArrayList<>(now.nodes());
            nodes.add(node);
            return new ClusterConfig(now.name(), now.token(), nodes); // checks name and address
        }, now -> now.nodes().contains(node));
        log.info("added node '{}' ({}) to cluster '{}' in etcd", node.name(), node.agentAddress(), next.name());
        return next;
    }

    @Override
    public ClusterConfig currentConfig() {
        return readConfig(client, calls, address, config.name()).orElseThrow(this::configGone);
    }

    @Override
    public ClusterConfig maintenance(String node, boolean on) {
        ClusterConfig next = changeConfig((on ? "set" : "clear") + " maintenance of node '" + node + "' in cluster '"
                + config.name() + "'", now -> now.withMaintenance(node, on), now -> false);
        log.info("node '{}': maintenance {}", node, on ? "on" : "off");
        return next;
    }

    @Override
    public ClusterConfig setQemu(String node, ferry.cluster.NodeQemu qemu) {
        ClusterConfig next = changeConfig("set the QEMU of node '" + node + "' of cluster '" + config.name() + "'",
                now -> now.withQemu(node, qemu), now -> false);
        log.info("node '{}' of cluster '{}' runs QEMU {} (in etcd)", node, next.name(),
                qemu == null ? "installed" : qemu.binary());
        return next;
    }

    /**
     * Changes the config only over the revision it read: of two racing changes one writes, the
     * other reads again and applies itself to what the first wrote. {@code ours} recognises our
     * own earlier write whose answer was lost.
     */
    private ClusterConfig changeConfig(String what, Function<ClusterConfig, ClusterConfig> change,
                                       java.util.function.Predicate<ClusterConfig> ours) {
        long deadline = calls.deadline();
        boolean tried = false;
        while (true) {
            GetResponse got = calls.read(what, () -> kv.get(CONFIG));
            if (got.getKvs().isEmpty()) {
                throw configGone();
            }
            ClusterConfig now;
            try {
                now = Json.cluster(got.getKvs().get(0).getValue().getBytes());
            } catch (IOException e) {
                throw new ClusterException(IO, "the config of cluster '" + config.name() + "' cannot be read: "
                        + e.getMessage(), e);
            }
            if (tried && ours.test(now)) {
                return now;
            }
            ClusterConfig next = change.apply(now);
            if (next.equals(now)) {
                return now;
            }
            tried = true;
            byte[] body = encode(() -> Json.cluster(next));
            long revision = got.getKvs().get(0).getModRevision();
            Optional<TxnResponse> r = calls.attempt(() -> kv.txn()
                    .If(new Cmp(CONFIG, Cmp.Op.EQUAL, CmpTarget.modRevision(revision)))
                    .Then(Op.put(CONFIG, ByteSequence.from(body), PutOption.DEFAULT)).commit());
            if (r.isPresent() && r.get().isSucceeded()) {
                return next;
            }
            calls.pause(what, deadline);
        }
    }

    private ClusterException configGone() {
        return new ClusterException(NOT_FOUND, "etcd at " + address + " no longer holds cluster '" + config.name() + "'");
    }

    @Override
    public String location() {
        return "etcd " + address;
    }

    // --- VMs ---

    @Override
    public Optional<VmRecord> vm(int vmid) {
        Names.vmid(vmid);
        return readVm("read VM " + vmid, vmid).record();
    }

    @Override
    public List<VmRecord> vms() {
        GetResponse r = calls.read("list VMs", () -> kv.get(bytes("vm/"), GetOption.builder().isPrefix(true).build()));
        List<VmRecord> all = new ArrayList<>();
        for (KeyValue kvp : r.getKvs()) {
            String key = text(kvp.getKey());
            try {
                all.add(VmCodec.decode(Integer.parseInt(key.substring("vm/".length())), kvp.getValue().getBytes()));
            } catch (IOException | RuntimeException e) {
                log.warn("skipping the unreadable record {} in etcd at {}: {}", key, address, e.getMessage());
            }
        }
        all.sort(Comparator.comparingInt(VmRecord::vmid));
        return all;
    }

    @Override
    public List<VmRecord> vmsOf(String node) {
        rules.member(node);
        return vms().stream().filter(r -> r.owner().equals(node)).toList();
    }

    @Override
    public VmRecord create(String owner, int vmid, ObjectNode vmConfig) {
        VmRecord r = rules.newRecord(owner, vmid, vmConfig);
        change("create VM " + vmid + " on node '" + owner + "'", vmid, now -> {
            if (now.isPresent()) {
                throw VmRules.exists(vmid, now.get().owner());
            }
            return r;
        }, false);
        log.info("created VM {} on node '{}'", vmid, owner);
        return r;
    }

    @Override
    public VmRecord update(int vmid, String expectedOwner, ObjectNode vmConfig, String heldLock) {
        rules.checkUpdate(vmid, expectedOwner, vmConfig, heldLock);
        return change("update VM " + vmid + " on node '" + expectedOwner + "'", vmid,
                now -> rules.update(now, vmid, expectedOwner, vmConfig, heldLock), false);
    }

    @Override
    public VmRecord lock(int vmid, String expectedOwner, String lockName, VmRecord.LockHolder holder) {
        rules.checkLock(vmid, expectedOwner, lockName);
        VmRecord l = change("lock VM " + vmid + " on node '" + expectedOwner + "'", vmid,
                now -> rules.lock(now, vmid, expectedOwner, lockName, holder), false);
        log.debug("locked VM {} ({}) on node '{}'", vmid, lockName, expectedOwner);
        return l;
    }

    @Override
    public VmRecord unlock(int vmid, String expectedOwner, String expectedLock) {
        rules.checkUnlock(vmid, expectedOwner, expectedLock);
        return change("unlock VM " + vmid + " on node '" + expectedOwner + "'", vmid, now -> {
            if (expectedLock == null && now.isPresent() && now.get().locked()) {
                log.info("VM {} on node '{}': clearing lock ({}) by hand", vmid, expectedOwner, now.get().lock());
            }
            return rules.unlock(now, vmid, expectedOwner, expectedLock);
        }, false);
    }

    @Override
    public VmRecord move(int vmid, String from, String to) {
        rules.checkMove(vmid, from, to);
        VmRecord m = change("move VM " + vmid + " from node '" + from + "' to '" + to + "'", vmid,
                now -> rules.move(now, vmid, from, to), false);
        log.info("moved VM {} from node '{}' to node '{}'", vmid, from, to);
        return m;
    }

    @Override
    public void delete(int vmid, String expectedOwner) {
        rules.checkOwner(vmid, expectedOwner);
        change("delete VM " + vmid + " on node '" + expectedOwner + "'", vmid,
                now -> rules.delete(now, vmid, expectedOwner), true);
        log.info("deleted VM {} on node '{}'", vmid, expectedOwner);
    }

    private record Versioned(Optional<VmRecord> record, long modRevision) {}

    private Versioned readVm(String what, int vmid) {
        GetResponse r = calls.read(what, () -> kv.get(vmKey(vmid)));
        if (r.getKvs().isEmpty()) {
            return new Versioned(Optional.empty(), 0);
        }
        KeyValue kvp = r.getKvs().get(0);
        try {
            return new Versioned(Optional.of(VmCodec.decode(vmid, kvp.getValue().getBytes())), kvp.getModRevision());
        } catch (IOException e) {
            throw new ClusterException(IO, "the record of VM " + vmid + " in etcd at " + address + " (key /ferry/"
                    + config.name() + "/vm/" + vmid + ") cannot be read: " + e.getMessage()
                    + "; repair it by hand (it holds the VM's configuration) or remove it", e);
        }
    }

    /**
     * Reads the VM's record, lets {@code rule} decide the new one (or refuse), and writes it only if
     * the record is still as read; on a lost race it reads again and lets the rule decide anew.
     */
    private VmRecord change(String what, int vmid, Function<Optional<VmRecord>, VmRecord> rule, boolean delete) {
        ByteSequence key = vmKey(vmid);
        long deadline = calls.deadline();
        VmRecord unsure = null; // written, but etcd's answer was lost
        while (true) {
            Versioned now = readVm(what, vmid);
            if (unsure != null && (delete ? now.record().isEmpty() : now.record().filter(unsure::equals).isPresent())) {
                return unsure;
            }
            VmRecord next = rule.apply(now.record());
            if (!delete && now.record().filter(next::equals).isPresent()) {
                return next; // nothing to change
            }
            Cmp unchanged = now.record().isEmpty()
                    ? new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(0))
                    : new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(now.modRevision()));
            Op write = delete ? Op.delete(key, DeleteOption.DEFAULT)
                    : Op.put(key, ByteSequence.from(encode(() -> VmCodec.encode(next))), PutOption.DEFAULT);
            Optional<TxnResponse> r = calls.attempt(() -> kv.txn().If(unchanged).Then(write).commit());
            if (r.isPresent() && r.get().isSucceeded()) {
                return next;
            }
            unsure = r.isEmpty() ? next : null;
            if (r.isEmpty()) {
                calls.pause(what, deadline);
            }
        }
    }

    // --- journals ---

    @Override
    public void appendJournal(String taskId, ObjectNode entry) {
        append(taskId, entry, -1);
    }

    @Override
    public void appendJournal(String taskId, ObjectNode entry, int expectedLength) {
        append(taskId, entry, expectedLength);
    }

    /** Appends as entry number {@code expectedLength + 1}, or after the last entry when it is negative. */
    private void append(String taskId, ObjectNode entry, int expectedLength) {
        Names.taskId(taskId);
        if (entry == null) {
            throw new ClusterException(INVALID, "task " + taskId + ": journal entry is missing");
        }
        String what = "append to the journal of task " + taskId;
        ByteSequence closed = closedKey(taskId);
        ByteSequence body = ByteSequence.from(encode(() -> Json.line(entry)));
        long deadline = calls.deadline();
        while (true) {
            long last;
            if (expectedLength >= 0) {
                last = expectedLength;
            } else {
                List<KeyValue> entries = journalEntries(taskId, true);
                last = entries.isEmpty() ? 0 : sequence(entries.get(entries.size() - 1));
            }
            ByteSequence key = entryKey(taskId, last + 1);
            List<Cmp> conditions = new ArrayList<>(List.of(new Cmp(closed, Cmp.Op.EQUAL, CmpTarget.version(0)),
                    new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(0))));
            if (last > 0) {
                conditions.add(new Cmp(entryKey(taskId, last), Cmp.Op.GREATER, CmpTarget.version(0)));
            }
            Optional<TxnResponse> r = calls.attempt(() -> kv.txn().If(conditions.toArray(Cmp[]::new))
                    .Then(Op.put(key, body, PutOption.DEFAULT)).commit());
            if (r.isPresent() && r.get().isSucceeded()) {
                return;
            }
            if (r.isEmpty()) {
                GetResponse back = calls.read(what, () -> kv.get(key));
                if (!back.getKvs().isEmpty() && back.getKvs().get(0).getValue().equals(body)) {
                    return; // our own append, whose answer was lost
                }
                calls.pause(what, deadline);
            }
            if (!calls.read(what, () -> kv.get(closed)).getKvs().isEmpty()) {
                throw new ClusterException(INVALID, "the journal of task " + taskId
                        + " is closed (the task finished); start a new task for further steps");
            }
            if (r.isPresent() && expectedLength >= 0) {
                int now = journalEntries(taskId, true).size();
                throw new ClusterException(ClusterException.Reason.CONFLICT, "the journal of task " + taskId + " holds "
                        + now + " entries, not " + expectedLength + ": another writer came first; read it again");
            }
        }
    }

    @Override
    public List<ObjectNode> journal(String taskId) {
        Names.taskId(taskId);
        List<KeyValue> entries = journalEntries(taskId, false);
        if (entries.isEmpty()) {
            throw new ClusterException(NOT_FOUND, "task " + taskId + " has no journal");
        }
        List<ObjectNode> out = new ArrayList<>();
        for (KeyValue e : entries) {
            try {
                out.add(Json.object(e.getValue().getBytes()));
            } catch (IOException x) {
                throw new ClusterException(IO, "journal entry " + text(e.getKey()) + " of task " + taskId + " in etcd at "
                        + address + " is not a JSON object (" + x.getMessage()
                        + "); repair it by hand, the task cannot be recovered without it", x);
            }
        }
        return out;
    }

    @Override
    public List<String> openJournals() {
        Set<String> open = new TreeSet<>(taskIds("journal/"));
        open.removeAll(taskIds("closed/"));
        return List.copyOf(open);
    }

    @Override
    public List<String> closedJournals() {
        return List.copyOf(new TreeSet<>(taskIds("closed/")));
    }

    @Override
    public void closeJournal(String taskId) {
        Names.taskId(taskId);
        String what = "close the journal of task " + taskId;
        if (!calls.read(what, () -> kv.get(closedKey(taskId))).getKvs().isEmpty()) {
            return;
        }
        if (journalEntries(taskId, true).isEmpty()) {
            throw new ClusterException(NOT_FOUND, "task " + taskId + " has no journal to close");
        }
        ByteSequence mark = bytes(Long.toString(System.currentTimeMillis()));
        calls.read(what, () -> kv.put(closedKey(taskId), mark)); // idempotent: any mark closes it
    }

    private List<KeyValue> journalEntries(String taskId, boolean keysOnly) {
        GetResponse r = calls.read("read the journal of task " + taskId, () -> kv.get(bytes("journal/" + taskId + "/"),
                GetOption.builder().isPrefix(true).withKeysOnly(keysOnly)
                        .withSortField(GetOption.SortTarget.KEY).withSortOrder(GetOption.SortOrder.ASCEND).build()));
        return r.getKvs();
    }

    private Set<String> taskIds(String prefix) {
        GetResponse r = calls.read("list journals", () -> kv.get(bytes(prefix),
                GetOption.builder().isPrefix(true).withKeysOnly(true).build()));
        Set<String> ids = new TreeSet<>();
        for (KeyValue kvp : r.getKvs()) {
            String rest = text(kvp.getKey()).substring(prefix.length());
            int slash = rest.indexOf('/');
            ids.add(slash < 0 ? rest : rest.substring(0, slash));
        }
        return ids;
    }

    private static long sequence(KeyValue entry) {
        String key = text(entry.getKey());
        return Long.parseLong(key.substring(key.lastIndexOf('/') + 1));
    }

    // --- liveness ---

    @Override
    public NodeLease announce(String node, Duration ttl) {
        rules.member(node);
        return new EtcdLease(client, calls, bytes("alive/" + node), node, ttl);
    }

    @Override
    public Set<String> liveNodes() {
        GetResponse r = calls.read("read the live nodes", () -> kv.get(bytes("alive/"),
                GetOption.builder().isPrefix(true).withKeysOnly(true).build()));
        Set<String> live = new TreeSet<>();
        for (KeyValue kvp : r.getKvs()) {
            live.add(text(kvp.getKey()).substring("alive/".length()));
        }
        return live;
    }

    @Override
    public AutoCloseable watchLiveness(Runnable changed) {
        Watch.Watcher w = client.getWatchClient().watch(bytes("alive/"), WatchOption.builder().isPrefix(true).build(),
                Watch.listener(response -> changed.run(),
                        error -> log.debug("liveness watch on etcd at {}: {}", address, error.getMessage())));
        return w::close;
    }

    @Override
    public void close() {
        client.close();
    }

    @Override
    public String toString() {
        return "EtcdClusterStore[" + config.name() + " in " + address + "]";
    }

    // --- keys and bytes ---

    private static ByteSequence vmKey(int vmid) {
        return bytes("vm/" + vmid);
    }

    private static ByteSequence entryKey(String taskId, long seq) {
        return bytes("journal/" + taskId + "/" + String.format("%012d", seq));
    }

    private static ByteSequence closedKey(String taskId) {
        return bytes("closed/" + taskId);
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static String text(ByteSequence b) {
        return b.toString(StandardCharsets.UTF_8);
    }

    private interface Encoder {
        byte[] encode() throws IOException;
    }

    private static byte[] encode(Encoder e) {
        try {
            return e.encode();
        } catch (IOException x) {
            throw new ClusterException(INVALID, "cannot encode a record as JSON: " + x.getMessage(), x);
        }
    }
}
