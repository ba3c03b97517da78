package ferry.testkit;

import static ferry.protocol.MigrationStatus.ACTIVE;
import static ferry.protocol.MigrationStatus.CANCELLED;
import static ferry.protocol.MigrationStatus.CANCELLING;
import static ferry.protocol.MigrationStatus.COMPLETED;
import static ferry.protocol.MigrationStatus.DEVICE;
import static ferry.protocol.MigrationStatus.PRE_SWITCHOVER;
import static ferry.protocol.MigrationStatus.SETUP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ferry.protocol.Commands;
import ferry.protocol.MigrateContinueArgs;
import ferry.protocol.MigrateSetParameters;
import ferry.protocol.MigrationCapability;
import ferry.protocol.MigrationInfo;
import ferry.protocol.MigrationStatus;
import ferry.protocol.MigrationThreadInfo;
import ferry.protocol.RunState;
import ferry.qmp.QmpCommandException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code migrate_cancel}, {@code migrate-continue} after pause-before-switchover, and {@code query-migrationthreads}. */
@Timeout(120)
class MigrationControlTest {
    /** 1 MiB/s: the 16 MiB region takes many seconds, so the migration is still active when we act. */
    static final BigInteger SLOW = BigInteger.valueOf(1L << 20);

    @TempDir Path dir;

    @Test
    void cancelLeavesTheSourceRunning() {
        try (MigrationPair p = MigrationPair.start(dir)) {
            p.bothCapabilities(MigrationCapability.EVENTS);
            MigrationPair.parameters(p.source, MigrateSetParameters.builder().maxBandwidth(SLOW).build());
            p.migrate(p.incomingTcp());
            p.sourceEvents.awaitStatus(ACTIVE, MigrationPair.TIMEOUT);
            MigrationPair.sleep(300);
            MigrationInfo mid = MigrationPair.info(p.source);
            assertThat(mid.status()).isEqualTo(ACTIVE);
            assertThat(mid.ram().transferred()).isPositive();
            assertThat(mid.ram().remaining()).isPositive();
            assertThat(MigrationPair.status(p.source).status()).isEqualTo(RunState.RUNNING);

            p.source.qmp().call(Commands.MIGRATE_CANCEL);
            p.sourceEvents.awaitStatus(CANCELLED, MigrationPair.TIMEOUT);
            assertThat(p.sourceEvents.statuses()).containsExactly(SETUP, ACTIVE, CANCELLING, CANCELLED);
            assertThat(MigrationPair.info(p.source).status()).isEqualTo(CANCELLED);
            assertThat(MigrationPair.status(p.source).status()).isEqualTo(RunState.RUNNING);
            assertThat(MigrationPair.status(p.source).running()).isTrue();
            int before = BootblockGuest.passes(p.source);
            BootblockGuest.awaitPasses(p.source, before + 3, Duration.ofSeconds(20));

            // The target's incoming migration fails with the cut stream, and QEMU exits (exit-on-error defaults to true).
            assertThat(p.target.waitForExit(Duration.ofSeconds(10))).as("target exits after the cancel").isTrue();
            assertThat(p.targetEvents.rawStatuses()).containsExactly("setup", "active", "failed");

            // The source is still good for its guest: stop it and check its memory.
            p.source.qmp().call(Commands.STOP);
            PageOracle.Result r = p.guest.checkMemory(p.source);
            assertThat(r.ok()).as(r.message()).isTrue();
        }
    }

    @Test
    void pauseBeforeSwitchoverWaitsForMigrateContinue() {
        try (MigrationPair p = MigrationPair.start(dir)) {
            p.bothCapabilities(MigrationCapability.EVENTS);
            MigrationPair.capabilities(p.source, true, MigrationCapability.PAUSE_BEFORE_SWITCHOVER);
            p.migrate(p.incomingTcp());
            p.sourceEvents.awaitStatus(PRE_SWITCHOVER, MigrationPair.TIMEOUT);
            MigrationPair.sleep(300);
            assertThat(MigrationPair.info(p.source).status()).as("still waiting").isEqualTo(PRE_SWITCHOVER);
            assertThat(MigrationPair.status(p.source).running()).isFalse();
            assertThat(MigrationPair.status(p.source).status()).isEqualTo(RunState.FINISH_MIGRATE);
            assertThat(MigrationPair.info(p.target).status()).isEqualTo(ACTIVE);

            assertThatThrownBy(() -> p.source.qmp().call(Commands.MIGRATE_CONTINUE,
                    MigrateContinueArgs.builder().state(ACTIVE).build()))
                    .isInstanceOfSatisfying(QmpCommandException.class, e -> {
                        assertThat(e.errorClass()).isEqualTo("GenericError");
                        assertThat(e.description()).isEqualTo("Migration not in expected state: pre-switchover");
                    });
            p.source.qmp().call(Commands.MIGRATE_CONTINUE, MigrateContinueArgs.builder().state(PRE_SWITCHOVER).build());
            p.verifyCompleted(List.of(SETUP, ACTIVE, PRE_SWITCHOVER, DEVICE, COMPLETED), List.of(SETUP, ACTIVE, COMPLETED));
        }
    }

    @Test
    void migrationThreadsOfAMultifdMigration() throws Exception {
        // debug-threads=on makes QEMU give its threads the names query-migrationthreads reports
        try (MigrationPair p = MigrationPair.start(dir, MigrationPair.GUEST, "-name", "debug-threads=on")) {
            p.bothCapabilities(MigrationCapability.EVENTS, MigrationCapability.MULTIFD);
            MigrateSetParameters channels = MigrateSetParameters.builder().multifdChannels(3).build();
            MigrationPair.parameters(p.target, channels);
            MigrationPair.parameters(p.source, MigrateSetParameters.builder().multifdChannels(3).maxBandwidth(SLOW).build());
            assertThat(p.source.qmp().call(Commands.QUERY_MIGRATIONTHREADS)).as("no migration yet").isEmpty();
            p.migrate(p.incomingTcp());
            p.sourceEvents.awaitStatus(ACTIVE, MigrationPair.TIMEOUT);

            List<MigrationThreadInfo> threads = p.source.qmp().call(Commands.QUERY_MIGRATIONTHREADS);
            System.out.println("source migration threads: " + threads);
            System.out.println("target migration threads: " + p.target.qmp().call(Commands.QUERY_MIGRATIONTHREADS));
            assertThat(MigrationPair.info(p.source).status()).as("still active while we looked").isEqualTo(ACTIVE);
            assertThat(threads).extracting(MigrationThreadInfo::name)
                    .containsExactlyInAnyOrder("mig/src/main", "mig/src/send_0", "mig/src/send_1", "mig/src/send_2");
            assertThat(threads).extracting(MigrationThreadInfo::threadId).doesNotHaveDuplicates()
                    .allSatisfy(tid -> assertThat(Path.of("/proc", Long.toString(p.source.pid()), "task", Long.toString(tid)))
                            .as("thread %d of QEMU %d", tid, p.source.pid()).exists());
            for (MigrationThreadInfo t : threads) {
                String comm = Files.readString(Path.of("/proc", Long.toString(p.source.pid()), "task",
                        Long.toString(t.threadId()), "comm")).strip();
                assertThat(comm).as("kernel name of thread %d", t.threadId()).isEqualTo(t.name());
            }

            // Lift the limit: the multifd migration completes, and its memory is consistent.
            MigrationPair.parameters(p.source, MigrateSetParameters.builder().maxBandwidth(BigInteger.ZERO).build());
            p.verifyCompleted(List.of(SETUP, ACTIVE, DEVICE, COMPLETED), List.of(SETUP, ACTIVE, COMPLETED));
            assertThat(MigrationPair.info(p.source).ram().multifdBytes()).isPositive();
            assertThat(p.source.qmp().call(Commands.QUERY_MIGRATIONTHREADS)).as("threads gone after completion").isEmpty();
        }
    }
}
