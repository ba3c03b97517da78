package ferry.migration;

import ferry.cluster.ClusterException;
import ferry.cluster.VmRecord;
import ferry.node.Storage;
import ferry.node.VmDefinition;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Phase 1: takes the {@code migrate} lock; for a stopped VM, copies its local volumes to the
 * target. Its cleanup frees the copies on the target and drops the lock.
 */
final class Phase1 {
    private final MigrationContext ctx;
    private boolean locked;
    private final List<VmDefinition.Disk> copied = new ArrayList<>();

    Phase1(MigrationContext ctx) {
        this.ctx = ctx;
    }

    /** @param userPaused the guest was paused before the migration: no cleanup may resume it */
    void run(boolean userPaused) {
        ctx.journal().step(MigrationStep.LOCK, "lock", e -> e.put("online", ctx.online()).put("user_paused", userPaused));
        try {
            ctx.store().lock(ctx.vmid(), ctx.here(), "migrate", new VmRecord.LockHolder(ctx.taskId(), ctx.here()));
        } catch (ClusterException e) {
            throw new MigrationRefused(e.getMessage());
        }
        locked = true;
        if (ctx.online()) {
            return;
        }
        for (VmDefinition.Disk d : ctx.vm().disks()) {
            Storage s = ctx.local().storages().get(d.storage());
            if (s.shared()) {
                continue;
            }
            Path from = s.volumePath(d.volume());
            ctx.journal().step(MigrationStep.COPY_VOLUME, "copy " + d.storage() + ":" + d.volume(),
                    e -> e.put("storage", d.storage()).put("volume", d.volume()));
            ctx.log().info("copying volume '%s:%s' (%s) to node '%s'", d.storage(), d.volume(),
                    Sizes.bytes(from.toFile().length()), ctx.targetName());
            copied.add(d); // before the copy: a partial copy is freed in cleanup too
            ctx.target().receiveVolume(d, from, ctx.req().bwlimitMiBps());
        }
    }

    /** The volumes now on the target (also a partial last one). */
    List<VmDefinition.Disk> copied() {
        return List.copyOf(copied);
    }

    void cleanup() {
        if (!copied.isEmpty()) {
            for (String v : ctx.target().freeVolumes(copied)) {
                ctx.log().error("could not free volume copy '%s' on node '%s'; remove it by hand", v, ctx.targetName());
            }
        }
        if (locked) {
            try {
                ctx.store().unlock(ctx.vmid(), ctx.here(), "migrate");
            } catch (ClusterException e) {
                ctx.log().error("could not drop the migrate lock of VM %d: %s", ctx.vmid(), e.getMessage());
            }
        }
    }
}
