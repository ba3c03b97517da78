package ferry.testkit;

import static ferry.protocol.MigrationStatus.ACTIVE;
import static ferry.protocol.MigrationStatus.COMPLETED;
import static ferry.protocol.MigrationStatus.DEVICE;
import static ferry.protocol.MigrationStatus.SETUP;
import static org.assertj.core.api.Assertions.assertThat;

import ferry.protocol.Commands;
import ferry.protocol.InetSocketAddress;
import ferry.protocol.MigrateArgs;
import ferry.protocol.MigrateIncomingArgs;
import ferry.protocol.MigrationAddress;
import ferry.protocol.MigrationCapability;
import ferry.protocol.MigrationChannel;
import ferry.protocol.MigrationChannelType;
import ferry.protocol.MigrationInfo;
import ferry.protocol.MigrationStatus;
import ferry.protocol.RunState;
import ferry.protocol.SocketAddress;
import ferry.protocol.UnixSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real migration of a dirtying bootblock guest over each transport QEMU offers without special
 * hardware: tcp, unix, exec, file, and the {@code channels} form of the arguments.
 */
@Timeout(120)
class MigrationTransportsTest {
    static final List<MigrationStatus> SOURCE = List.of(SETUP, ACTIVE, DEVICE, COMPLETED);
    static final List<MigrationStatus> TARGET = List.of(SETUP, ACTIVE, COMPLETED);

    @TempDir Path dir;

    @Test
    void tcpOnAPortTheTargetPicks() {
        try (MigrationPair p = MigrationPair.start(dir)) {
            p.bothCapabilities(MigrationCapability.EVENTS);
            String uri = p.incomingTcp();
            p.migrate(uri);
            p.verifyCompleted(SOURCE, TARGET);
        }
    }

    @Test
    void unixSocket() {
        try (MigrationPair p = MigrationPair.start(dir)) {
            p.bothCapabilities(MigrationCapability.EVENTS);
            Path sock = dir.resolve("migration.sock");
            p.target.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder().uri("unix:" + sock).build());
            MigrationInfo listening = MigrationPair.info(p.target);
            assertThat(listening.status()).isEqualTo(MigrationStatus.SETUP);
            assertThat(listening.socketAddress()).singleElement().isInstanceOfSatisfying(SocketAddress.Unix.class,
                    u -> assertThat(u.value().path()).isEqualTo(sock.toString()));
            assertThat(sock).exists();
            p.migrate("unix:" + sock);
            p.verifyCompleted(SOURCE, TARGET);
        }
    }

    @Test
    void execThroughCatIntoAFileAndBack() throws Exception {
        Path stream = dir.resolve("exec-stream.bin");
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            MigrationPair.capabilities(p.source, true, MigrationCapability.EVENTS);
            p.migrate("exec:cat > " + stream);
            p.sourceEvents.awaitStatus(COMPLETED, MigrationPair.TIMEOUT);
            assertThat(Files.size(stream)).isGreaterThan(Bootblock.pages(p.guest.regionEnd()) * Bootblock.PAGE_SIZE);

            p.startTarget();
            MigrationPair.capabilities(p.target, true, MigrationCapability.EVENTS);
            p.target.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder().uri("exec:cat " + stream).build());
            p.verifyCompleted(SOURCE, TARGET);
        }
    }

    /**
     * To a file, and back into a target started with {@code -S}: it stays paused after the
     * migration, so its memory must equal the source's final memory byte for byte.
     */
    @Test
    void fileIntoAPausedTargetIsByteIdentical() throws Exception {
        Path stream = dir.resolve("file-stream.bin");
        try (MigrationPair p = MigrationPair.sourceOnly(dir, MigrationPair.GUEST)) {
            MigrationPair.capabilities(p.source, true, MigrationCapability.EVENTS);
            p.migrate("file:" + stream);
            p.sourceEvents.awaitStatus(COMPLETED, MigrationPair.TIMEOUT);
            assertThat(p.sourceEvents.statuses()).containsExactlyElementsOf(SOURCE);
            MigrationPair.verifyPasses(p.sourceEvents.passes());
            MigrationPair.awaitRunState(p.source, RunState.POSTMIGRATE, Duration.ofSeconds(5));
            PageOracle.Result atSource = p.guest.checkMemory(p.source);
            assertThat(atSource.ok()).as(atSource.message()).isTrue();
            byte[] sourceRegion = Files.readAllBytes(p.source.runDir().resolve("region.dump"));

            p.startTarget("-S");
            MigrationPair.capabilities(p.target, true, MigrationCapability.EVENTS);
            p.target.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder().uri("file:" + stream).build());
            p.targetEvents.awaitStatus(COMPLETED, MigrationPair.TIMEOUT);
            assertThat(p.targetEvents.statuses()).containsExactlyElementsOf(TARGET);
            MigrationPair.sleep(200);
            assertThat(MigrationPair.status(p.target).status()).as("-S keeps the target paused").isEqualTo(RunState.PAUSED);
            assertThat(BootblockGuest.passMarkers(p.target)).isZero();
            PageOracle.Result atTarget = p.guest.checkMemory(p.target);
            assertThat(atTarget).isEqualTo(atSource);
            assertThat(Files.readAllBytes(p.target.runDir().resolve("region.dump"))).isEqualTo(sourceRegion);

            p.target.qmp().call(Commands.CONT);
            MigrationPair.awaitRunState(p.target, RunState.RUNNING, Duration.ofSeconds(5));
            BootblockGuest.awaitPassMarkers(p.target, 2, Duration.ofSeconds(20));
        }
    }

    @Test
    void channelsInsteadOfUri() {
        try (MigrationPair p = MigrationPair.start(dir)) {
            p.bothCapabilities(MigrationCapability.EVENTS);
            p.target.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder()
                    .channels(List.of(mainChannel("127.0.0.1", "0"))).build());
            String port = MigrationPair.listeningPort(p.target);
            p.source.qmp().call(Commands.MIGRATE, MigrateArgs.builder()
                    .channels(List.of(mainChannel("127.0.0.1", port))).build());
            p.verifyCompleted(SOURCE, TARGET);
        }
    }

    @Test
    void unixSocketThroughChannels() {
        try (MigrationPair p = MigrationPair.start(dir)) {
            p.bothCapabilities(MigrationCapability.EVENTS);
            Path sock = dir.resolve("channel.sock");
            MigrationChannel ch = MigrationChannel.builder().channelType(MigrationChannelType.MAIN)
                    .addr(new MigrationAddress.Socket(new SocketAddress.Unix(
                            UnixSocketAddress.builder().path(sock.toString()).build()))).build();
            p.target.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder().channels(List.of(ch)).build());
            p.source.qmp().call(Commands.MIGRATE, MigrateArgs.builder().channels(List.of(ch)).build());
            p.verifyCompleted(SOURCE, TARGET);
        }
    }

    static MigrationChannel mainChannel(String host, String port) {
        return MigrationChannel.builder().channelType(MigrationChannelType.MAIN)
                .addr(new MigrationAddress.Socket(new SocketAddress.Inet(
                        InetSocketAddress.builder().host(host).port(port).build()))).build();
    }
}
