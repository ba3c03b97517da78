package ferry.cluster;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The records all nodes of a cluster must agree on: the members, which node owns which VM, the
 * VMs' persistent locks, and the migration journals.
 *
 * <p>Every mutating call is atomic and checks its preconditions in the same step as it writes
 * (compare-and-set): two callers racing for the same VM never both succeed. Failures throw
 * {@link ClusterException}; a refused call changes nothing.
 *
 * <p>Implementations: {@link DirectoryClusterStore} (nodes on one host share a folder) and
 * {@code ferry.cluster.etcd.EtcdClusterStore} (nodes on many hosts share an etcd cluster);
 * {@link ClusterStores} opens the one a cluster folder names.
 */
public interface ClusterStore extends AutoCloseable {

    int MIN_VMID = Names.MIN_VMID;
    int MAX_VMID = Names.MAX_VMID;

    /** Cluster name, token and members. */
    ClusterConfig config();

    /**
     * Adds a member to the cluster's config and returns the new config; refused (INVALID) if its
     * name or agent address is taken. This handle keeps the members it was opened with: agents
     * learn of the new node when they open the store again (at their next start).
     */
    ClusterConfig addNode(NodeInfo node);

    /**
     * The config as the store holds it now. {@link #config()} is the one this handle was opened
     * with; what changes while agents run (a node's maintenance flag) is read here.
     */
    ClusterConfig currentConfig();

    /**
     * Sets ({@code on}) or clears a node's maintenance flag and returns the new config: one
     * compare-and-set over the config read, so a racing change (another flag, a new node) is kept.
     * Refused (UNKNOWN_NODE) for a node that is not a member; setting the flag it has changes nothing.
     */
    ClusterConfig maintenance(String node, boolean on);

    /**
     * Sets the QEMU a member starts its VMs with (null: the one installed on its host) and returns
     * the new config; UNKNOWN_NODE when no such member. Its agent uses it from its next start.
     */
    ClusterConfig setQemu(String node, NodeQemu qemu);

    /** The VM, wherever it lives; empty if no node has it. */
    Optional<VmRecord> vm(int vmid);

    /** All VMs of all nodes, by vmid. Records that cannot be read are left out (and logged). */
    List<VmRecord> vms();

    /** The VMs {@code node} owns, by vmid. */
    List<VmRecord> vmsOf(String node);

    /**
     * Registers a new, unlocked VM owned by {@code owner}. Refuses a vmid that exists on any node,
     * an unknown node and a vmid outside {@value #MIN_VMID}..{@value #MAX_VMID}.
     */
    VmRecord create(String owner, int vmid, ObjectNode config);

    /** Replaces the config of an unlocked VM owned by {@code expectedOwner}. */
    default VmRecord update(int vmid, String expectedOwner, ObjectNode config) {
        return update(vmid, expectedOwner, config, null);
    }

    /**
     * Replaces the config of a VM owned by {@code expectedOwner}, keeping its lock.
     *
     * @param heldLock null: the VM must be unlocked; otherwise the lock the caller holds, and the
     *                 VM must be locked with exactly that lock
     */
    VmRecord update(int vmid, String expectedOwner, ObjectNode config, String heldLock);

    /** Sets {@code lock} on an unlocked VM owned by {@code expectedOwner} (compare-and-set). */
    default VmRecord lock(int vmid, String expectedOwner, String lock) {
        return lock(vmid, expectedOwner, lock, null);
    }

    /**
     * Sets {@code lock} on an unlocked VM owned by {@code expectedOwner} (compare-and-set), naming
     * {@code holder} — the task and the node that runs it — so that anyone who finds the VM locked
     * knows whom to ask; unlocking clears both.
     */
    VmRecord lock(int vmid, String expectedOwner, String lock, VmRecord.LockHolder holder);

    /**
     * Clears the VM's lock.
     *
     * @param expectedLock the lock the caller holds; the VM must carry exactly that lock. null
     *                     clears any lock (a person's manual unlock once they know no task runs);
     *                     it is a no-op on an unlocked VM
     */
    VmRecord unlock(int vmid, String expectedOwner, String expectedLock);

    /**
     * Moves ownership of the VM from {@code from} to {@code to} in one atomic step, only if
     * {@code from} owns it. The lock is kept as it is: the migration clears it on the new owner.
     */
    VmRecord move(int vmid, String from, String to);

    /** Removes an unlocked VM owned by {@code expectedOwner}. */
    void delete(int vmid, String expectedOwner);

    /** Appends one entry to the task's journal, durably, before the step it describes acts. */
    void appendJournal(String taskId, ObjectNode entry);

    /**
     * Appends one entry only if the journal still holds {@code expectedLength} entries, so that a
     * writer acting on what it read does not act when another wrote meanwhile (refused with
     * CONFLICT). Two agents that may both resolve one migration fence each other this way.
     */
    void appendJournal(String taskId, ObjectNode entry, int expectedLength);

    /** The entries of the task's journal, open or closed, in order. */
    List<ObjectNode> journal(String taskId);

    /** Task ids whose journal is open (tasks that have not finished, or crashed), sorted. */
    List<String> openJournals();

    /** Task ids whose journal is closed (tasks that ended, with their outcome in the last entry), sorted. */
    List<String> closedJournals();

    /** Marks the task's journal finished; no entry may be appended afterwards. Idempotent. */
    void closeJournal(String taskId);

    /**
     * Claims that {@code node}'s agent is alive, for as long as the returned lease is kept: it is
     * renewed in the background, and lapses {@code ttl} after its holder stops renewing it (crash,
     * lost connection to the store). A newer claim of the same node replaces the older.
     */
    NodeLease announce(String node, Duration ttl);

    /** The nodes whose liveness claim is current, sorted. */
    Set<String> liveNodes();

    /**
     * Calls {@code changed} (on a store thread) whenever a node's liveness claim appears or goes,
     * where the store can tell; otherwise never (callers also poll {@link #liveNodes()}).
     */
    default AutoCloseable watchLiveness(Runnable changed) {
        return () -> { };
    }

    /** Where the records live, for people: "directory /path" or "etcd http://host:port". */
    String location();

    /** Releases what the store holds (connections); the directory store holds nothing. */
    @Override
    default void close() {}
}
