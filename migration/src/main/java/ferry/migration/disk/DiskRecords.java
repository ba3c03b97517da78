package ferry.migration.disk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import ferry.node.VmDefinition;
import java.util.List;

/** The VM's record after its disks moved to other storages: each moved disk names its new storage. */
public final class DiskRecords {
    private DiskRecords() {}

    /** Empties the drives at {@code indexes} in the VM's record: the cdroms whose medium stayed behind. */
    public static void ejectMedia(ClusterStore store, int vmid, String owner, List<Integer> indexes) {
        if (indexes.isEmpty()) {
            return;
        }
        VmRecord rec = store.vm(vmid).orElseThrow();
        ObjectNode config = rec.config().deepCopy();
        for (int i : indexes) {
            ObjectNode disk = (ObjectNode) config.path("disks").get(i);
            disk.remove(List.of("storage", "volume", "format", "cache", "aio"));
        }
        store.update(vmid, owner, config, rec.lock());
    }

    /**
     * Points each disk {@code from[i]} of the VM's record at the storage of {@code to[i]}; done again
     * by a recovery, so it changes nothing when the record says so already.
     */
    public static void retarget(ClusterStore store, int vmid, String owner, List<VmDefinition.Disk> from,
                                List<VmDefinition.Disk> to) {
        VmRecord rec = store.vm(vmid).orElseThrow();
        ObjectNode config = rec.config().deepCopy();
        boolean changed = false;
        for (JsonNode disk : config.path("disks")) {
            for (int i = 0; i < from.size(); i++) {
                VmDefinition.Disk f = from.get(i);
                String dst = to.get(i).storage();
                if (f.storage().equals(disk.path("storage").asText()) && f.volume().equals(disk.path("volume").asText())
                        && !f.storage().equals(dst)) {
                    ((ObjectNode) disk).put("storage", dst);
                    changed = true;
                }
            }
        }
        if (changed) {
            store.update(vmid, owner, config, rec.lock());
        }
    }
}
