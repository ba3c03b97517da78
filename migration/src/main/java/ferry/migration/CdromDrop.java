package ferry.migration;

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
final class CdromDrop {
    private final MigrationContext ctx;
    private final List<Integer> ejected = new ArrayList<>();

    CdromDrop(MigrationContext ctx) {
        this.ctx = ctx;
    }

    void eject(QemuProcess src) {
        for (int i : ctx.dropped()) {
            VmDefinition.Disk d = ctx.vm().disks().get(i);
            ctx.journal().step(MigrationStep.EJECT_MEDIUM, "eject " + d.storage() + ":" + d.volume(),
                    e -> e.put("drive", VmCommandLine.driveId(i)).put("storage", d.storage()).put("volume", d.volume()));
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
            String file = ctx.local().storages().get(d.storage()).volumePath(d.volume()).toString();
            try {
                src.qmp().call(Commands.BLOCKDEV_CHANGE_MEDIUM, BlockdevChangeMediumArgs.builder().id(device(i))
                        .filename(file).format(d.formatOrRaw()).readOnlyMode(BlockdevChangeReadOnlyMode.READ_ONLY)
                        .build());
                ctx.log().info("drive-%s: cdrom '%s:%s' inserted again", VmCommandLine.driveId(i), d.storage(),
                        d.volume());
            } catch (QmpException e) {
                ctx.log().error("could not insert cdrom '%s:%s' again on node '%s': %s; insert it by hand",
                        d.storage(), d.volume(), ctx.here(), e.getMessage());
            }
        }
        ejected.clear();
    }

    private static String device(int i) {
        return "dev-" + VmCommandLine.driveId(i);
    }
}
