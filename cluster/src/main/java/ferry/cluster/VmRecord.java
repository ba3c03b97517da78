package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Objects;

/**
 * What the cluster knows of one VM: who owns it, its configuration (opaque JSON here; the node
 * layer owns the typed definition) and its persistent lock.
 *
 * <p>The config is copied on the way in and out, so a record never changes.
 *
 * @param lock       the lock ("migrate", ...) or null when the VM is unlocked
 * @param lockHolder who holds the lock: the task and the node that runs it (null when unlocked,
 *                   or when the lock was set without one)
 */
public record VmRecord(int vmid, String owner, ObjectNode config, String lock, LockHolder lockHolder) {

    /** The task that holds a VM's lock, and the node that orchestrates it. */
    public record LockHolder(String task, String node) {
        public LockHolder {
            Names.taskId(task);
            Names.name("node", node);
        }

        @Override
        public String toString() {
            return "task " + task + " of node '" + node + "'";
        }
    }

    public VmRecord(int vmid, String owner, ObjectNode config, String lock) {
        this(vmid, owner, config, lock, null);
    }

    public VmRecord {
        Names.vmid(vmid);
        Names.name("node", owner);
        if (config == null) {
            throw new ClusterException(INVALID, "VM " + vmid + " needs a config object");
        }
        config = config.deepCopy();
        if (lock != null) {
            Names.lock(lock);
        } else {
            lockHolder = null;
        }
    }

    /** A copy of the VM's configuration. */
    @Override
    public ObjectNode config() {
        return config.deepCopy();
    }

    public boolean locked() {
        return lock != null;
    }

    VmRecord withLock(String newLock, LockHolder holder) {
        return new VmRecord(vmid, owner, config, newLock, holder);
    }

    VmRecord withOwner(String newOwner) {
        return new VmRecord(vmid, newOwner, config, lock, lockHolder);
    }

    VmRecord withConfig(ObjectNode newConfig) {
        return new VmRecord(vmid, owner, newConfig, lock, lockHolder);
    }

    boolean lockedWith(String expected) {
        return Objects.equals(lock, expected);
    }
}
