package ferry.migration;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.phase.Sleep;
import ferry.migration.qemu.QemuTls;
import ferry.node.LocalNode;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.testkit.BootblockGuest;
import ferry.testkit.PageOracle;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Migration streams over QEMU's native TLS (real QEMU 10, TCG): the cluster's CA and node
 * certificates, the target admitting only the source node's certificate. Each test also checks
 * that no key reached a log, a command line, or stayed in a run directory.
 */
@Timeout(180)
class TlsMigrationTest {
    static final BootblockGuest GUEST = new BootblockGuest(128, 1024 * 1024 + (32L << 20), 100_000);
    /** The TLS record type of a handshake: what a TLS stream starts with (a plain one starts with "QEVM"). */
    static final byte TLS_HANDSHAKE = 0x16;

    @TempDir
    Path dir;

    @Test
    void precopyGoesOverTlsAndTheGuestArrivesIntact() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.withCertificates();
            VmDefinition vm = nodes.bootblockVm(700, GUEST);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            List<FirstBytes> wire = new ArrayList<>();
            TargetNode sniffed = sniffed(nodes.tlsTargetB(), wire);
            MigrationResult r = nodes.tlsMigrationFromA("a", n -> sniffed).run(
                    new MigrationRequest(700, "b", true, false, 64, null, null), "task-700", new TaskLog(),
                    new CancelSignal());
            String log = String.join("\n", r.log());
            System.out.println(log);
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(log).contains("the migration stream over TLS: node 'a' presents CN=a")
                    .doesNotContain("WARNING");
            assertThat(wire).hasSize(1);
            assertThat(wire.get(0).firsts()).as("connections on the wire").isNotEmpty();
            for (byte[] first : wire.get(0).firsts()) {
                assertThat(first[0]).as("first byte on the wire: %s", Arrays.toString(first)).isEqualTo(TLS_HANDSHAKE);
            }
            wire.get(0).close();
            QemuProcess target = nodes.b.running(700).orElseThrow();
            assertNoKeyMaterial(nodes, r.log());
            assertMemoryIntact(GUEST, target);
        }
    }

    @Test
    void multifdChannelsGoOverTlsToo() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.withCertificates();
            VmDefinition vm = nodes.bootblockVm(701, GUEST);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            Tuning multifd = new Tuning(2, null, null, null, null, null, false, false, null, false, null);
            List<FirstBytes> wire = new ArrayList<>();
            MigrationResult r = nodes.tlsMigrationFromA("a", n -> sniffed(nodes.tlsTargetB(), wire)).run(
                    new MigrationRequest(701, "b", true, false, 64, null, null, null, multifd), "task-701",
                    new TaskLog(), new CancelSignal());
            String log = String.join("\n", r.log());
            System.out.println(log);
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(log).contains("stream: multifd 2 channels", "over TLS");
            // the main channel and both multifd channels: each its own TLS session
            assertThat(wire.get(0).firsts()).hasSizeGreaterThanOrEqualTo(3)
                    .allSatisfy(first -> assertThat(first[0]).isEqualTo(TLS_HANDSHAKE));
            wire.get(0).close();
            QemuProcess target = nodes.b.running(701).orElseThrow();
            var params = target.qmp().call(Commands.QUERY_MIGRATE_PARAMETERS);
            assertThat(params.tlsCreds()).isEqualTo(QemuTls.CREDS);
            assertThat(params.tlsAuthz()).isEqualTo(QemuTls.AUTHZ);
            assertNoKeyMaterial(nodes, r.log());
            assertMemoryIntact(GUEST, target);
        }
    }

    /** Postcopy over TLS with the link cut after the switch: the recovery's new connections are TLS too. */
    @Test
    void postcopyWithACutLinkRecoversOverTls() throws Exception {
        BootblockGuest hot = PostcopyRecoveryTest.HOT;
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.withCertificates();
            VmDefinition vm = nodes.bootblockVm(702, hot);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            PostcopyRecoveryTest.CutLink link = new PostcopyRecoveryTest.CutLink(nodes.tlsTargetB(), nodes.b);
            MigrationResult r;
            try (link) {
                r = nodes.tlsMigrationFromA("a", n -> link).run(new MigrationRequest(702, "b", true, false, 8, 300,
                        "budget", new MigrationRequest.Limits(60, false, true, false, 30)), "task-702", new TaskLog(),
                        new CancelSignal());
            }
            String log = String.join("\n", r.log());
            System.out.println(log);
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(r.postcopy()).isTrue();
            assertThat(link.cutAt).as("the link was cut").isPositive();
            assertThat(log).contains("over TLS", "postcopy paused: the link to node 'b' broke",
                    "migration status: completed (postcopy)").containsPattern("postcopy recovery attempt \\d+: target");
            QemuProcess target = nodes.b.running(702).orElseThrow();
            assertThat(target.pid()).isEqualTo(link.targetPid);
            assertNoKeyMaterial(nodes, r.log());
            assertMemoryIntact(hot, target);
        }
    }

    /**
     * Bytes from someone who is not the source (here: a plain TCP client sending garbage, and one
     * that starts a TLS handshake and leaves) reach the target's port before the source: the
     * target QEMU drops them and the real migration completes.
     */
    @Test
    void garbageOnTheIncomingPortDoesNotDisturbTheTarget() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.withCertificates();
            VmDefinition vm = nodes.bootblockVm(703, GUEST);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            List<Long> targetPids = new ArrayList<>();
            TargetNode attacked = new ForwardingTarget(nodes.tlsTargetB()) {
                @Override
                public Endpoint startIncoming(VmDefinition v, Set<String> caps, ObjectNode params, String source,
                                              boolean tls) {
                    Endpoint ep = real.startIncoming(v, caps, params, source, tls);
                    byte[] junk = new byte[64 * 1024];
                    new Random(7).nextBytes(junk);
                    send(ep, junk);
                    send(ep, "QEVM\0\0\0\3 a stream that is not TLS".getBytes(StandardCharsets.US_ASCII));
                    send(ep, new byte[] {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2}); // a handshake cut short
                    Sleep.quietly(500);
                    targetPids.add(nodes.b.running(703).orElseThrow().pid());
                    return ep;
                }
            };
            MigrationResult r = nodes.tlsMigrationFromA("a", n -> attacked).run(
                    new MigrationRequest(703, "b", true, false, 64, null, null), "task-703", new TaskLog(),
                    new CancelSignal());
            String log = String.join("\n", r.log());
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.COMPLETED);
            QemuProcess target = nodes.b.running(703).orElseThrow();
            assertThat(target.pid()).as("the QEMU that took the garbage is the one that runs the guest")
                    .isEqualTo(targetPids.get(0));
            assertThat(Files.readString(target.runDir().resolve("qemu.log"))).contains("TLS handshake failed");
            assertNoKeyMaterial(nodes, r.log());
            assertMemoryIntact(GUEST, target);
        }
    }

    /** Node c has a valid certificate of the cluster, but the target admits only the migration's source, a. */
    @Test
    void aSourcePresentingAnotherNodesCertificateIsRefusedAndKeepsRunning() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.withCertificates();
            VmDefinition vm = nodes.bootblockVm(704, GUEST);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            long srcPid = src.pid();
            Path targetLog = nodes.b.runDir(704).resolve("qemu.log");
            List<String> targetSaw = new ArrayList<>();
            TargetNode b = new ForwardingTarget(nodes.tlsTargetB()) {
                @Override
                public void stop(int vmid) {
                    try {
                        targetSaw.add(Files.readString(targetLog));
                    } catch (IOException e) {
                        targetSaw.add(e.toString());
                    }
                    real.stop(vmid);
                }
            };
            MigrationResult r = nodes.tlsMigrationFromA("c", n -> b).run(
                    new MigrationRequest(704, "b", true, false, 64, null, null), "task-704", new TaskLog(),
                    new CancelSignal());
            String log = String.join("\n", r.log());
            System.out.println(log);
            assertThat(r.status()).as(log).isEqualTo(MigrationResult.Status.FAILED);
            assertThat(targetSaw).hasSize(1);
            assertThat(targetSaw.get(0)).contains("TLS x509 authz check for CN=c is denied");
            assertThat(nodes.a.status(704).state()).isEqualTo(LocalNode.State.RUNNING);
            assertThat(nodes.a.running(704).orElseThrow().pid()).isEqualTo(srcPid);
            assertThat(nodes.b.status(704).state()).isEqualTo(LocalNode.State.STOPPED);
            var rec = nodes.store.vm(704).orElseThrow();
            assertThat(rec.owner()).isEqualTo("a");
            assertThat(rec.lock()).isNull();
            int passes = BootblockGuest.passes(nodes.a.running(704).orElseThrow());
            BootblockGuest.awaitPasses(nodes.a.running(704).orElseThrow(), passes + 1, Duration.ofSeconds(30));
            assertNoKeyMaterial(nodes, r.log());

            // the same source QEMU, now with its own certificate: its credentials are replaced and it goes
            MigrationResult again = nodes.tlsMigrationFromA("a", n -> nodes.tlsTargetB()).run(
                    new MigrationRequest(704, "b", true, false, 64, null, null), "task-704b", new TaskLog(),
                    new CancelSignal());
            assertThat(again.status()).as(String.join("\n", again.log())).isEqualTo(MigrationResult.Status.COMPLETED);
            assertMemoryIntact(GUEST, nodes.b.running(704).orElseThrow());
        }
    }

    @Test
    void withoutCertificatesTheStreamIsPlainAndTheLogSaysSo() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(705, GUEST);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            MigrationResult r = nodes.migrationFromA().run(new MigrationRequest(705, "b", true, false, 64, null, null),
                    "task-705", new TaskLog(), new CancelSignal());
            assertThat(r.status()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(String.join("\n", r.log())).containsPattern("WARNING: no certificates for node 'a' .* plain TCP");
        }
    }

    @Test
    void noTlsIsPlainAndWarnsThatItIsForMeasurementOnly() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            nodes.withCertificates();
            VmDefinition vm = nodes.bootblockVm(706, GUEST);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            MigrationResult r = nodes.tlsMigrationFromA("a", n -> nodes.tlsTargetB()).run(
                    new MigrationRequest(706, "b", true, false, 64, null, null).withoutTls(), "task-706",
                    new TaskLog(), new CancelSignal());
            assertThat(r.status()).isEqualTo(MigrationResult.Status.COMPLETED);
            assertThat(String.join("\n", r.log()))
                    .containsPattern("WARNING: --no-tls: .* plain TCP.* only to measure what TLS costs");
            assertThat(nodes.b.running(706).orElseThrow().qmp().call(Commands.QUERY_MIGRATE_PARAMETERS).tlsCreds())
                    .isEmpty();
        }
    }

    /** A target reached through a {@link FirstBytes} relay (added to {@code wire}) that shows what the wire carries. */
    static TargetNode sniffed(TargetNode target, List<FirstBytes> wire) {
        return new ForwardingTarget(target) {
            @Override
            public Endpoint startIncoming(VmDefinition v, Set<String> caps, ObjectNode params, String source,
                                          boolean tls) {
                Endpoint ep = real.startIncoming(v, caps, params, source, tls);
                try {
                    FirstBytes f = new FirstBytes(ep.host(), ep.port());
                    wire.add(f);
                    return new Endpoint("127.0.0.1", f.port(), ep.capabilities());
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            }
        };
    }

    /** A node without a certificate refuses a TLS stream before it starts a QEMU. */
    @Test
    void aTargetWithoutACertificateRefusesATlsStreamAndStartsNothing() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(707, GUEST);
            LocalTarget plainB = new LocalTarget(nodes.b, nodes.volumes, "127.0.0.1");
            Throwable t = org.assertj.core.api.Assertions.catchThrowable(() ->
                    plainB.startIncoming(vm, Set.of(), null, "a", true));
            assertThat(t).hasMessageContaining("node 'b' has no certificate of the cluster")
                    .hasMessageContaining("cannot take a TLS stream from node 'a'");
            assertThat(nodes.b.status(707).state()).isEqualTo(LocalNode.State.STOPPED);
        }
    }

    static void assertMemoryIntact(BootblockGuest guest, QemuProcess target) {
        target.qmp().call(Commands.STOP);
        PageOracle.Result oracle = guest.checkMemory(target);
        assertThat(oracle.ok()).as(oracle.message()).isTrue();
    }

    /**
     * No key in the task log, in any file the nodes wrote (QEMU's logs, run directories: the
     * credentials QEMU read are gone), or on a command line of this test's QEMUs.
     */
    static void assertNoKeyMaterial(TwoNodes nodes, List<String> taskLog) throws IOException {
        assertNoKeyMaterial(nodes, taskLog, true);
    }

    /** @param qemusRun whether a QEMU of the test still runs to be looked at */
    static void assertNoKeyMaterial(TwoNodes nodes, List<String> taskLog, boolean qemusRun) throws IOException {
        assertThat(String.join("\n", taskLog)).doesNotContain("PRIVATE KEY");
        Path pki = nodes.dir.resolve("cluster").resolve("pki");
        try (Stream<Path> files = Files.walk(nodes.dir)) {
            for (Path f : files.filter(Files::isRegularFile).filter(f -> !f.startsWith(pki)).toList()) {
                if (f.toString().endsWith(".pem")) {
                    throw new AssertionError("a credential file stayed behind: " + f);
                }
                if (Files.size(f) < (8 << 20) && !f.toString().endsWith(".raw") && !f.toString().contains(".sock")) {
                    assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)).as(f.toString())
                            .doesNotContain("PRIVATE KEY");
                }
            }
        }
        int qemus = 0;
        for (LocalNode n : List.of(nodes.a, nodes.b)) {
            try (Stream<Path> runs = Files.list(n.runDir(0).getParent())) {
                for (Path run : runs.toList()) {
                    assertThat(run.resolve(QemuTls.FOLDER)).doesNotExist();
                }
            }
        }
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(p -> p.getFileName().toString().matches("\\d+")).toList()) {
                String cmdline;
                try {
                    cmdline = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.UTF_8)
                            .replace('\0', ' ');
                } catch (IOException gone) {
                    continue;
                }
                if (cmdline.contains("qemu-system") && cmdline.contains(nodes.dir.toString())) {
                    qemus++;
                    assertThat(cmdline).as("command line of pid " + p.getFileName()).doesNotContainIgnoringCase("key")
                            .doesNotContain("tls");
                }
            }
        }
        if (qemusRun) {
            assertThat(qemus).as("the test's QEMUs were looked at").isPositive();
        }
    }

    private static void send(TargetNode.Endpoint ep, byte[] bytes) {
        try (Socket s = new Socket(ep.host(), ep.port()); OutputStream out = s.getOutputStream()) {
            out.write(bytes);
            out.flush();
            Sleep.quietly(200);
        } catch (IOException e) {
            // the target may reset a connection it dislikes: that is the point
        }
    }
}
