package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.EXISTS;
import static ferry.cluster.ClusterException.Reason.INVALID;
import static ferry.cluster.ClusterException.Reason.LOCKED;
import static ferry.cluster.ClusterException.Reason.NOT_FOUND;
import static ferry.cluster.ClusterException.Reason.NOT_OWNER;
import static ferry.cluster.ClusterException.Reason.UNKNOWN_NODE;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;

/**
 * The preconditions of every change to a VM record, shared by all stores so that they refuse
 * alike and with the same words. Each rule takes the record as it is now (empty when there is
 * none) and returns the record to write, or throws the refusal; a store reads, applies the rule
 * and writes the result in one atomic step (under its lock, or as a transaction on the record's
 * revision).
 */
public final class VmRules {
    private final ClusterConfig config;

    public VmRules(ClusterConfig config) {
        this.config = config;
    }

    /** Checks the arguments of {@link ClusterStore#create}; nothing is read yet. */
    public VmRecord newRecord(String owner, int vmid, ObjectNode vmConfig) {
        Names.vmid(vmid);
        member(owner);
        return new VmRecord(vmid, owner, vmConfig, null);
    }

    /** Refuses to create a VM that some node already has. */
    public static ClusterException exists(int vmid, String holder) {
        return new ClusterException(EXISTS, "VM " + vmid + " already exists on node '" + holder + "'; pick another vmid");
    }

    public VmRecord update(Optional<VmRecord> now, int vmid, String expectedOwner, ObjectNode vmConfig,
                           String heldLock) {
        VmRecord r = owned(now, vmid, expectedOwner);
        if (heldLock == null && r.locked()) {
            throw new ClusterException(LOCKED, "cannot update VM " + vmid + ": " + lockedMessage(r));
        }
        if (heldLock != null) {
            requireLock(r, heldLock, "update");
        }
        return r.withConfig(vmConfig);
    }

    /** Checks the arguments of an update before anything is read. */
    public void checkUpdate(int vmid, String expectedOwner, ObjectNode vmConfig, String heldLock) {
        Names.vmid(vmid);
        member(expectedOwner);
        if (heldLock != null) {
            Names.lock(heldLock);
        }
        if (vmConfig == null) {
            throw new ClusterException(INVALID, "VM " + vmid + ": the new config is missing");
        }
    }

    public void checkLock(int vmid, String expectedOwner, String lockName) {
        Names.vmid(vmid);
        member(expectedOwner);
        Names.lock(lockName);
    }

    public VmRecord lock(Optional<VmRecord> now, int vmid, String expectedOwner, String lockName,
                         VmRecord.LockHolder holder) {
        VmRecord r = owned(now, vmid, expectedOwner);
        if (r.locked()) {
            throw new ClusterException(LOCKED, "cannot lock VM " + vmid + " (" + lockName + "): " + lockedMessage(r));
        }
        return r.withLock(lockName, holder);
    }

    public void checkUnlock(int vmid, String expectedOwner, String expectedLock) {
        Names.vmid(vmid);
        member(expectedOwner);
        if (expectedLock != null) {
            Names.lock(expectedLock);
        }
    }

    /** The unlocked record; the same record when a person's unlock (null lock) finds the VM unlocked. */
    public VmRecord unlock(Optional<VmRecord> now, int vmid, String expectedOwner, String expectedLock) {
        VmRecord r = owned(now, vmid, expectedOwner);
        if (expectedLock != null) {
            requireLock(r, expectedLock, "unlock");
        } else if (!r.locked()) {
            return r;
        }
        return r.withLock(null, null);
    }

    public void checkMove(int vmid, String from, String to) {
        Names.vmid(vmid);
        member(from);
        member(to);
        if (from.equals(to)) {
            throw new ClusterException(INVALID, "cannot move VM " + vmid + " from node '" + from + "' to itself");
        }
    }

    public VmRecord move(Optional<VmRecord> now, int vmid, String from, String to) {
        return owned(now, vmid, from).withOwner(to);
    }

    public void checkOwner(int vmid, String expectedOwner) {
        Names.vmid(vmid);
        member(expectedOwner);
    }

    /** The record to delete. */
    public VmRecord delete(Optional<VmRecord> now, int vmid, String expectedOwner) {
        VmRecord r = owned(now, vmid, expectedOwner);
        if (r.locked()) {
            throw new ClusterException(LOCKED, "cannot delete VM " + vmid + ": " + lockedMessage(r));
        }
        return r;
    }

    public VmRecord owned(Optional<VmRecord> now, int vmid, String owner) {
        VmRecord r = now.orElseThrow(() -> new ClusterException(NOT_FOUND,
                "VM " + vmid + " does not exist in cluster '" + config.name() + "'; check the vmid"));
        if (!r.owner().equals(owner)) {
            throw new ClusterException(NOT_OWNER, "VM " + vmid + " is owned by node '" + r.owner() + "', not '"
                    + owner + "'; send the request to node '" + r.owner() + "'");
        }
        return r;
    }

    public void member(String node) {
        if (node == null || config.node(node).isEmpty()) {
            throw new ClusterException(UNKNOWN_NODE, "node '" + node + "' is not a member of cluster '" + config.name()
                    + "' (members: " + String.join(", ", config.nodeNames()) + "); check the node name");
        }
    }

    private static void requireLock(VmRecord r, String expected, String action) {
        if (r.lockedWith(expected)) {
            return;
        }
        String prefix = "cannot " + action + " VM " + r.vmid() + " with lock (" + expected + "): ";
        if (!r.locked()) {
            throw new ClusterException(LOCKED, prefix + "it is not locked on node '" + r.owner()
                    + "'; someone cleared the lock, so check the VM's state before going on");
        }
        throw new ClusterException(LOCKED, prefix + lockedMessage(r) + " (not by this caller)");
    }

    static String lockedMessage(VmRecord r) {
        String holder = "migrate".equals(r.lock()) ? "migration" : "'" + r.lock() + "' task";
        return "VM " + r.vmid() + " is locked (" + r.lock() + ") on node '" + r.owner() + "'"
                + (r.lockHolder() == null ? "" : " by " + r.lockHolder()) + "; wait for the running "
                + holder + " or run 'ferry vm unlock " + r.vmid() + "' once you know none runs";
    }
}
