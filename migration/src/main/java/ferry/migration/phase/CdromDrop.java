package ferry.migration.phase;

import ferry.migration.MigrationStep;
import ferry.migration.TaskLog;
import ferry.migration.recovery.JournalState;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmCommandLine;
import ferry.node.VmDefinition;
import ferry.protocol.BlockdevChangeMediumArgs;
import ferry.protocol.BlockdevChangeReadOnlyMode;
import ferry.protocol.Commands;
import ferry.protocol.EjectArgs;
import ferry.qmp.QmpException;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --force} with a running VM's cdrom on local storage (a local device): its medium is
 * ejected on the source before the target starts with an empty drive, so both QEMUs have the same
 * devices. The cleanup puts the medium back, so a failed migration leaves the VM as it was.
 */
public final class CdromDrop {
    private final MigrationContext ctx;
    private final List<Integer> ejected = new ArrayList<>();

    CdromDrop(MigrationContext ctx) {
        this.ctx = ctx;
    }

    void eject(QemuProcess src) {
        for (int i : ctx.dropped()) {
            VmDefinition.Disk d = ctx.vm().disks().get(i);
            ctx.journal().step(MigrationStep.EJECT_MEDIUM, "eject " + d.storage() + ":" + d.volume(),
                    e -> e.put("drive", VmCommandLine.driveId(i)).put("storage", d.storage()).put("volume", d.volume())
                            .put("format", d.formatOrRaw()));
            ejected.add(i);
            src.qmp().call(Commands.EJECT, EjectArgs.builder().id(device(i)).force(true).build());
            ctx.log().info("drive-%s: cdrom '%s:%s' ejected (--force): it is a local device of node '%s'; the VM "
                    + "moves with an empty drive", VmCommandLine.driveId(i), d.storage(), d.volume(), ctx.here());
        }
    }

    /** Puts each ejected medium back (read-only, as it was). */
    void cleanup(QemuProcess src) {
        for (int i : ejected) {
            VmDefinition.Disk d = ctx.vm().disks().get(i);
            insert(src, ctx.local(), new JournalState.Ejected(VmCommandLine.driveId(i), d.storage(), d.volume(),
                    d.formatOrRaw()),
                    ctx.log());
        }
        ejected.clear();
    }

    /** Puts one medium back into its drive on {@code node}'s QEMU (also what a recovery does). */
    public static void insert(QemuProcess q, LocalNode node, JournalState.Ejected e, TaskLog log) {
        String file = node.storages().get(e.storage()).volumePath(e.volume()).toString();
        try {
            q.qmp().call(Commands.BLOCKDEV_CHANGE_MEDIUM, BlockdevChangeMediumArgs.builder().id("dev-" + e.drive())
                    .filename(file).format(e.format()).readOnlyMode(BlockdevChangeReadOnlyMode.READ_ONLY).build());
            log.info("drive-%s: cdrom '%s:%s' inserted again", e.drive(), e.storage(), e.volume());
        } catch (QmpException x) {
            log.error("could not insert cdrom '%s:%s' again on node '%s': %s; insert it by hand", e.storage(),
                    e.volume(), node.name(), x.getMessage());
        }
    }

    private static String device(int i) {
        return "dev-" + VmCommandLine.driveId(i);
    }
}
