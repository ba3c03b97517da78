package ferry.migration.phase;

import ferry.cluster.ClusterException;
import ferry.cluster.VmRecord;
import ferry.migration.MigrationRefused;
import ferry.migration.MigrationStep;
import ferry.migration.Sizes;
import ferry.migration.disk.LocalDisk;
import ferry.node.VmDefinition;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Phase 1: takes the {@code migrate} lock; for a stopped VM, copies its local volumes to the
 * target; for a running VM with {@code --with-local-disks}, creates the empty target volumes its
 * disks are mirrored into in phase 2. Its cleanup frees the copies on the target and drops the lock.
 */
public final class Phase1 {
    private final MigrationContext ctx;
    private boolean locked;
    /** The local volumes put on the target so far (copied, or allocated for a mirror). */
    private final List<LocalDisk> moved = new ArrayList<>();

    public Phase1(MigrationContext ctx) {
        this.ctx = ctx;
    }

    /** @param userPaused the guest was paused before the migration: no cleanup may resume it */
    public void run(boolean userPaused) {
        ctx.journal().step(MigrationStep.LOCK, "lock", e -> e.put("online", ctx.online()).put("user_paused", userPaused));
        try {
            ctx.store().lock(ctx.vmid(), ctx.here(), "migrate", new VmRecord.LockHolder(ctx.taskId(), ctx.here()));
        } catch (ClusterException e) {
            throw new MigrationRefused(e.getMessage());
        }
        locked = true;
        if (ctx.online()) {
            allocateMirrorTargets();
            return;
        }
        for (LocalDisk d : ctx.localDisks()) {
            Path from = ctx.local().storages().get(d.source().storage()).volumePath(d.source().volume());
            VmDefinition.Disk t = d.target();
            ctx.journal().step(MigrationStep.COPY_VOLUME, "copy " + d.volumeName(),
                    e -> e.put("storage", d.source().storage()).put("target_storage", t.storage())
                            .put("volume", t.volume()));
            ctx.log().info("copying volume '%s' (%s) to '%s:%s' on node '%s'", d.volumeName(),
                    Sizes.bytes(from.toFile().length()), t.storage(), t.volume(), ctx.targetName());
            moved.add(d); // before the copy: a partial copy is freed in cleanup too
            ctx.target().receiveVolume(t, from, ctx.req().bwlimitMiBps());
        }
    }

    /** Same format and virtual size as the source; a qcow2 stays sparse until the mirror writes. */
    private void allocateMirrorTargets() {
        for (LocalDisk d : ctx.localDisks()) {
            VmDefinition.Disk t = d.target();
            ctx.journal().step(MigrationStep.ALLOCATE_VOLUME, "allocate " + t.storage() + ":" + t.volume(),
                    e -> e.put("storage", d.source().storage()).put("target_storage", t.storage())
                            .put("volume", t.volume()));
            ctx.log().info("%s: allocating volume '%s:%s' on node '%s' (%s %s)", d.label(), t.storage(), t.volume(),
                    ctx.targetName(), t.formatOrRaw(), Sizes.bytes(d.virtualSize()));
            ctx.target().createVolume(t, d.virtualSize());
            moved.add(d); // after: an existing volume of that name (refused) is not ours to free
        }
    }

    /** The volumes now on the target (also a partial last one), as the target names them. */
    List<VmDefinition.Disk> copied() {
        return moved.stream().map(LocalDisk::target).toList();
    }

    /** The same volumes on the source: freed once the target runs. */
    List<VmDefinition.Disk> moved() {
        return moved.stream().map(LocalDisk::source).toList();
    }

    public void cleanup() {
        if (!copied().isEmpty()) {
            for (String v : ctx.target().freeVolumes(copied())) {
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
