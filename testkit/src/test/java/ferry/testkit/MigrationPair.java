package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.node.NodeException;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.protocol.InetSocketAddress;
import ferry.protocol.MigrateArgs;
import ferry.protocol.MigrateIncomingArgs;
import ferry.protocol.MigrateSetCapabilitiesArgs;
import ferry.protocol.MigrateSetParameters;
import ferry.protocol.MigrationCapability;
import ferry.protocol.MigrationCapabilityStatus;
import ferry.protocol.MigrationEvent;
import ferry.protocol.MigrationInfo;
import ferry.protocol.MigrationPassEvent;
import ferry.protocol.MigrationStatus;
import ferry.protocol.RunState;
import ferry.protocol.SocketAddress;
import ferry.protocol.StatusInfo;
import ferry.qapi.QapiJson;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpClient;
import ferry.qmp.QmpConnectionException;
import ferry.qmp.QmpEventMessage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;

/**
 * A bootblock source QEMU and (optionally) an incoming target QEMU in a test's temporary folder,
 * with event logs subscribed before anything happens. Closing it stops both QEMUs; a JVM shutdown
 * hook kills any QEMU a test left behind (e.g. when the JVM is stopped mid-test).
 */
final class MigrationPair implements AutoCloseable {
    /** 128 MiB of RAM; 16 MiB dirtied at full speed: converges on TCG in well under a second. */
    static final BootblockGuest GUEST = new BootblockGuest(128, Bootblock.REGION_START + (16L << 20), 0);
    static final Duration TIMEOUT = Duration.ofSeconds(30);
    static final Duration BOOT = Duration.ofSeconds(30);

    private static final Set<QemuProcess> LIVE = ConcurrentHashMap.newKeySet();
    private static volatile QemuBinary qemu;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(QemuProcess::kill), "kill-test-qemus"));
    }

    final BootblockGuest guest;
    final Path dir;
    final QemuProcess source;
    final EventLog sourceEvents;
    QemuProcess target;
    EventLog targetEvents;

    private MigrationPair(BootblockGuest guest, Path dir, QemuProcess source) {
        this.guest = guest;
        this.dir = dir;
        this.source = source;
        this.sourceEvents = new EventLog("source", source);
    }

    /** The QEMU to test; a test that needs it is skipped (not failed) where there is none, or an older one. */
    static QemuBinary qemu() {
        if (qemu == null) {
            QemuBinary found;
            try {
                found = QemuBinary.find();
            } catch (NodeException e) {
                Assumptions.abort(e.getMessage());
                throw e;
            }
            Assumptions.assumeTrue(found.atLeast(10, 0), "these tests expect QEMU 10's answers; found " + found.versionLine());
            qemu = found;
        }
        return qemu;
    }

    /** Boots a source only (waits for its first passes); start a target later with {@link #startTarget}. */
    static MigrationPair sourceOnly(Path dir, BootblockGuest guest, String... sourceArgs) {
        QemuProcess s = track(guest.source(qemu(), dir.resolve("source")).args(sourceArgs).start());
        MigrationPair p = new MigrationPair(guest, dir, s);
        try {
            BootblockGuest.awaitPasses(s, 2, BOOT);
        } catch (Throwable t) {
            p.close();
            throw t;
        }
        return p;
    }

    /** Boots a source and starts an incoming target ({@code -incoming defer}). */
    static MigrationPair start(Path dir, BootblockGuest guest, String... sourceArgs) {
        MigrationPair p = sourceOnly(dir, guest, sourceArgs);
        try {
            p.startTarget();
        } catch (Throwable t) {
            p.close();
            throw t;
        }
        return p;
    }

    static MigrationPair start(Path dir) {
        return start(dir, GUEST);
    }

    QemuProcess startTarget(String... targetArgs) {
        if (target != null) {
            throw new IllegalStateException("target already started");
        }
        target = track(guest.incoming(qemu(), dir.resolve("target")).args(targetArgs).start());
        targetEvents = new EventLog("target", target);
        return target;
    }

    private static QemuProcess track(QemuProcess q) {
        LIVE.add(q);
        return q;
    }

    /** Stops both QEMUs; never throws. */
    @Override
    public void close() {
        for (QemuProcess q : new QemuProcess[] {target, source}) {
            if (q == null) {
                continue;
            }
            try {
                q.stop(Duration.ofSeconds(3));
            } catch (Throwable t) {
                q.kill();
            } finally {
                LIVE.remove(q);
            }
        }
    }

    // ---- helpers shared by the tests ------------------------------------------------------

    static void capabilities(QemuProcess q, boolean state, MigrationCapability... caps) {
        q.qmp().call(Commands.MIGRATE_SET_CAPABILITIES, MigrateSetCapabilitiesArgs.builder()
                .capabilities(Arrays.stream(caps).map(c -> new MigrationCapabilityStatus(c, state)).toList()).build());
    }

    /** Enables {@code caps} on both sides. */
    void bothCapabilities(MigrationCapability... caps) {
        capabilities(source, true, caps);
        capabilities(target, true, caps);
    }

    static void parameters(QemuProcess q, MigrateSetParameters p) {
        q.qmp().call(Commands.MIGRATE_SET_PARAMETERS, p);
    }

    static MigrationInfo info(QemuProcess q) {
        return q.qmp().call(Commands.QUERY_MIGRATE);
    }

    static StatusInfo status(QemuProcess q) {
        return q.qmp().call(Commands.QUERY_STATUS);
    }

    /** {@code migrate-incoming} on 127.0.0.1 port 0; returns the URI with the port QEMU picked. */
    String incomingTcp() {
        target.qmp().call(Commands.MIGRATE_INCOMING, MigrateIncomingArgs.builder().uri("tcp:127.0.0.1:0").build());
        return "tcp:127.0.0.1:" + listeningPort(target);
    }

    /** The port a target listens on, from the {@code socket-address} of its {@code query-migrate}. */
    static String listeningPort(QemuProcess target) {
        MigrationInfo in = info(target);
        assertThat(in.status()).isEqualTo(MigrationStatus.SETUP);
        assertThat(in.socketAddress()).hasSize(1);
        SocketAddress a = in.socketAddress().get(0);
        assertThat(a).isInstanceOf(SocketAddress.Inet.class);
        InetSocketAddress inet = ((SocketAddress.Inet) a).value();
        assertThat(inet.host()).isEqualTo("127.0.0.1");
        assertThat(Integer.parseInt(inet.port())).isBetween(1, 65535);
        return inet.port();
    }

    void migrate(String uri) {
        source.qmp().call(Commands.MIGRATE, MigrateArgs.builder().uri(uri).build());
    }

    /** Runs a command by name with raw JSON (for what the binding lacks, e.g. the unbound {@code query-jobs}). */
    static JsonNode rawCall(QemuProcess q, String command, Object args) {
        JsonNode a = args == null ? null : QapiJson.mapper().valueToTree(args);
        return q.qmp().execute(command, a);
    }

    static ObjectNode json() {
        return QapiJson.mapper().createObjectNode();
    }

    /** Waits until {@code query-status} says {@code want}. */
    static void awaitRunState(QemuProcess q, RunState want, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        StatusInfo s;
        while ((s = status(q)).status() != want) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(q + " run state is " + s.status() + ", wanted " + want + " within " + timeout);
            }
            sleep(20);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted");
        }
    }

    /**
     * What a completed precopy-style migration must leave behind: the source's MIGRATION events in
     * order, MIGRATION_PASS numbered 1, 2, 3..., the source in postmigrate, the target running (it
     * starts by itself because the source was running), the target's memory consistent, and the
     * guest still making passes on the target.
     */
    void verifyCompleted(List<MigrationStatus> sourceStatuses, List<MigrationStatus> targetStatuses) {
        sourceEvents.awaitStatus(MigrationStatus.COMPLETED, TIMEOUT);
        targetEvents.awaitStatus(MigrationStatus.COMPLETED, TIMEOUT);
        if (sourceStatuses != null) { // null: the caller checks them
            assertThat(sourceEvents.statuses()).as("source MIGRATION events").containsExactlyElementsOf(sourceStatuses);
        }
        assertThat(targetEvents.statuses()).as("target MIGRATION events").containsExactlyElementsOf(targetStatuses);
        verifyPasses(sourceEvents.passes());
        System.out.println(dir.getFileName() + ": source " + sourceEvents.rawStatuses() + " passes " + sourceEvents.passes()
                + ", target " + targetEvents.rawStatuses());
        MigrationInfo done = info(source);
        assertThat(done.status()).isEqualTo(MigrationStatus.COMPLETED);
        assertThat(done.ram()).isNotNull();
        assertThat(done.ram().remaining()).isZero();
        assertThat(done.ram().transferred()).isPositive();
        assertThat(done.ram().dirtySyncCount()).isEqualTo(sourceEvents.passes().size());
        assertThat(done.totalTime()).isPositive();
        assertThat(info(target).status()).isEqualTo(MigrationStatus.COMPLETED);
        // MIGRATION completed comes a moment before the source's run state turns postmigrate
        awaitRunState(source, RunState.POSTMIGRATE, Duration.ofSeconds(5));
        assertThat(status(source).running()).isFalse();
        awaitRunState(target, RunState.RUNNING, Duration.ofSeconds(10));
        verifyTargetMemoryAndProgress();
    }

    static void verifyPasses(List<Long> passes) {
        assertThat(passes).as("MIGRATION_PASS numbers").isNotEmpty();
        for (int i = 0; i < passes.size(); i++) {
            assertThat(passes.get(i)).as("MIGRATION_PASS #%d of %s", i, passes).isEqualTo(i + 1L);
        }
    }

    /** Stops the running target, checks its memory with the oracle, resumes it, waits for two more passes. */
    void verifyTargetMemoryAndProgress() {
        target.qmp().call(Commands.STOP);
        PageOracle.Result r = guest.checkMemory(target);
        assertThat(r.ok()).as("target memory: " + r.message()).isTrue();
        assertThat(r.pages()).isEqualTo((int) Bootblock.pages(guest.regionEnd()));
        System.out.println(dir.getFileName() + ": target memory after migration: " + r.message());
        int before = BootblockGuest.passMarkers(target);
        target.qmp().call(Commands.CONT);
        BootblockGuest.awaitPassMarkers(target, before + 2, Duration.ofSeconds(20));
    }

    /** Every MIGRATION, MIGRATION_PASS, STOP and RESUME of one QEMU, in order, kept for the asserts. */
    static final class EventLog {
        private final String side;
        private final EventSubscription sub;
        private final List<QmpEventMessage> seen = new ArrayList<>();

        EventLog(String side, QemuProcess q) {
            this.side = side;
            QmpClient c = q.qmp();
            this.sub = c.subscribe(MigrationEvent.NAME, MigrationPassEvent.NAME, "STOP", "RESUME");
        }

        /** Waits for a MIGRATION event with {@code status}; fails early on failed/cancelled. */
        MigrationEvent awaitStatus(MigrationStatus status, Duration timeout) {
            return awaitStatusRaw(status.wire(), timeout);
        }

        /** The same by wire name, for statuses the binding does not know. */
        MigrationEvent awaitStatusRaw(String wire, Duration timeout) {
            for (QmpEventMessage m : seen) {
                if (m.name().equals(MigrationEvent.NAME) && wire.equals(m.data().path("status").asText())) {
                    return m.as(MigrationEvent.class);
                }
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                long left = deadline - System.nanoTime();
                QmpEventMessage m;
                try {
                    m = left <= 0 ? null : sub.poll(Duration.ofNanos(left));
                } catch (QmpConnectionException e) {
                    throw new AssertionError(side + ": QMP connection ended while waiting for MIGRATION " + wire
                            + "; events: " + seen, e);
                }
                if (m == null) {
                    throw new AssertionError(side + ": no MIGRATION " + wire + " within " + timeout + "; events: " + seen);
                }
                seen.add(m);
                if (m.name().equals(MigrationEvent.NAME)) {
                    String st = m.data().path("status").asText();
                    if (st.equals(wire)) {
                        return m.as(MigrationEvent.class);
                    }
                    if ((st.equals("failed") || st.equals("cancelled")) && !wire.equals("cancelled")) {
                        throw new AssertionError(side + ": migration " + st + " while waiting for " + wire + "; events: " + seen);
                    }
                }
            }
        }

        /** Takes whatever has arrived so far. */
        void drain() {
            try {
                QmpEventMessage m;
                while ((m = sub.poll(Duration.ZERO)) != null) {
                    seen.add(m);
                }
            } catch (QmpConnectionException e) {
                // QEMU is gone (e.g. a target that exited); everything it sent has been taken
            }
        }

        List<QmpEventMessage> all() {
            drain();
            return List.copyOf(seen);
        }

        /** MIGRATION statuses, decoded to the typed event. */
        List<MigrationStatus> statuses() {
            return typed(MigrationEvent.class, m -> true).stream().map(MigrationEvent::status).toList();
        }

        /** MIGRATION statuses as QEMU spelled them. */
        List<String> rawStatuses() {
            return all().stream().filter(m -> m.name().equals(MigrationEvent.NAME))
                    .map(m -> m.data().path("status").asText()).toList();
        }

        List<Long> passes() {
            return typed(MigrationPassEvent.class, m -> true).stream().map(MigrationPassEvent::pass).toList();
        }

        <E extends ferry.qapi.QapiEvent> List<E> typed(Class<E> type, Predicate<E> filter) {
            List<E> out = new ArrayList<>();
            for (QmpEventMessage m : all()) {
                ferry.qapi.QapiEvent e = m.typed();
                if (type.isInstance(e) && filter.test(type.cast(e))) {
                    assertThat(e).as("typed " + m.name()).isNotNull();
                    out.add(type.cast(e));
                }
            }
            return out;
        }

        @Override
        public String toString() {
            return side + " events " + seen;
        }
    }
}
