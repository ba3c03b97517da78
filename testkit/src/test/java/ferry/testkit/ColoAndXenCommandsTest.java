package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.node.QemuProcess;
import ferry.protocol.COLOExitReason;
import ferry.protocol.COLOMode;
import ferry.protocol.COLOStatus;
import ferry.protocol.Commands;
import ferry.protocol.ReplicationStatus;
import ferry.protocol.XenLoadDevicesStateArgs;
import ferry.protocol.XenSaveDevicesStateArgs;
import ferry.protocol.XenSetGlobalDirtyLogArgs;
import ferry.protocol.XenSetReplicationArgs;
import ferry.qmp.QmpCommandException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The COLO and Xen commands of migration.json on a plain TCG guest (no COLO pair, no Xen): what
 * QEMU refuses, and what it accepts as a no-op, each with the reason, in one table.
 */
@Timeout(60)
class ColoAndXenCommandsTest {
    /** How QEMU answers a command outside COLO/Xen: refused with this description, or accepted (null). */
    record Expectation(String command, Consumer<Path> call, String refusal, String why) {}

    static List<Expectation> table(QemuProcess q) {
        List<Expectation> t = new ArrayList<>();
        t.add(new Expectation("x-colo-lost-heartbeat", dir -> q.qmp().call(Commands.X_COLO_LOST_HEARTBEAT),
                "VM is not in COLO mode", "there is no COLO pair to fail over"));
        t.add(new Expectation("xen-load-devices-state (running VM)", dir -> q.qmp().call(Commands.XEN_LOAD_DEVICES_STATE,
                XenLoadDevicesStateArgs.builder().filename(dir.resolve("devices.state").toString()).build()),
                "Cannot update device state while vm is running", "device state only loads into a stopped VM"));
        t.add(new Expectation("xen-set-replication enable+failover", dir -> q.qmp().call(Commands.XEN_SET_REPLICATION,
                XenSetReplicationArgs.builder().enable(true).primary(true).failover(true).build()),
                "Parameter 'failover' is only for stopping replication", "failover only applies when stopping"));
        t.add(new Expectation("xen-save-devices-state", dir -> q.qmp().call(Commands.XEN_SAVE_DEVICES_STATE,
                XenSaveDevicesStateArgs.builder().filename(dir.resolve("devices.state").toString()).live(false).build()),
                null, "not Xen specific: writes the device state (no RAM) as a QEMU savevm stream"));
        t.add(new Expectation("xen-set-global-dirty-log on", dir -> q.qmp().call(Commands.XEN_SET_GLOBAL_DIRTY_LOG,
                XenSetGlobalDirtyLogArgs.builder().enable(true).build()),
                null, "starts QEMU's global dirty logging, whatever the accelerator"));
        t.add(new Expectation("xen-set-global-dirty-log off", dir -> q.qmp().call(Commands.XEN_SET_GLOBAL_DIRTY_LOG,
                XenSetGlobalDirtyLogArgs.builder().enable(false).build()),
                null, "stops it again"));
        t.add(new Expectation("xen-set-replication on", dir -> q.qmp().call(Commands.XEN_SET_REPLICATION,
                XenSetReplicationArgs.builder().enable(true).primary(true).build()),
                null, "no replication block driver is open, so there is nothing to start"));
        t.add(new Expectation("xen-colo-do-checkpoint", dir -> q.qmp().call(Commands.XEN_COLO_DO_CHECKPOINT),
                null, "checkpoints every replication driver: none"));
        t.add(new Expectation("xen-set-replication off", dir -> q.qmp().call(Commands.XEN_SET_REPLICATION,
                XenSetReplicationArgs.builder().enable(false).primary(true).build()),
                null, "nothing to stop either"));
        return t;
    }

    @TempDir Path dir;

    @Test
    void coloStatusSaysNone() {
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            COLOStatus s = p.source.qmp().call(Commands.QUERY_COLO_STATUS);
            assertThat(s).isEqualTo(new COLOStatus(COLOMode.NONE, COLOMode.NONE, COLOExitReason.NONE));
        }
    }

    @Test
    void coloAndXenCommandsAnswerAsRecorded() throws Exception {
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            for (Expectation e : table(p.source)) {
                String got = null;
                try {
                    e.call().accept(dir);
                } catch (QmpCommandException ex) {
                    assertThat(ex.errorClass()).as(e.command()).isEqualTo("GenericError");
                    got = ex.description();
                }
                assertThat(got).as(e.command() + " (" + e.why() + ")").isEqualTo(e.refusal());
                System.out.println((got == null ? "ACCEPTED " : "SKIPPED (refused) ") + e.command() + ": "
                        + (got == null ? e.why() : got));
            }
            byte[] state = Files.readAllBytes(dir.resolve("devices.state"));
            assertThat(new String(state, 0, 4, StandardCharsets.ISO_8859_1)).as("savevm stream magic").isEqualTo("QEVM");
            ReplicationStatus r = p.source.qmp().call(Commands.QUERY_XEN_REPLICATION_STATUS);
            assertThat(r.error()).isFalse();
            // The guest is none the worse for it.
            int before = BootblockGuest.passes(p.source);
            BootblockGuest.awaitPasses(p.source, before + 2, MigrationPair.BOOT);
        }
    }
}
