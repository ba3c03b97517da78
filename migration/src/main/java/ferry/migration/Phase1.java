package ferry.migration;

import ferry.cluster.ClusterException;
import ferry.node.Storage;
import ferry.node.VmDefinition;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Phase 1: takes the {@code migrate} lock; for a stopped VM, copies its local volumes to the
 * target; for a running VM with {@code --with-local-disks}, creates the empty target volumes its
 * disks are mirrored into in phase 2. Its cleanup frees the copies on the target and drops the lock.
 */
final class Phase1 {
    private final MigrationContext ctx;
    private boolean locked;
    private final List<VmDefinition.Disk> copied = new ArrayList<>();
    private final List<LocalDisk> allocated = new ArrayList<>();

    Phase1(MigrationContext ctx) {
        this.ctx = ctx;
    }

    /** @param userPaused the guest was paused before the migration: no cleanup may resume it */
    void run(boolean userPaused) {
        ctx.journal().step(MigrationStep.LOCK, "lock", e -> e.put("online", ctx.online()).put("user_paused", userPaused));
        try {
            ctx.store().lock(ctx.vmid(), ctx.here(), "migrate");
        } catch (ClusterException e) {
            throw new MigrationRefused(e.getMessage());
        }
        locked = true;
        if (ctx.online()) {
            allocateMirrorTargets();
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
            allocated.add(d); // after: an existing volume of that name (refused) is not ours to free
        }
    }

    /** The volumes now on the target (also a partial last one), as the target names them. */
    List<VmDefinition.Disk> copied() {
        List<VmDefinition.Disk> out = new ArrayList<>(copied);
        allocated.forEach(d -> out.add(d.target()));
        return out;
    }

    /** The source's volumes that moved: freed once the target runs. */
    List<VmDefinition.Disk> moved() {
        List<VmDefinition.Disk> out = new ArrayList<>(copied);
        allocated.forEach(d -> out.add(d.source()));
        return out;
    }

    void cleanup() {
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
