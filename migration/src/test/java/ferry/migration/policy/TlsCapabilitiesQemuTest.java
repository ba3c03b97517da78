package ferry.migration.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import ferry.cluster.pki.CertificateAuthority;
import ferry.cluster.pki.Identity;
import ferry.migration.MigrationRequest;
import ferry.migration.NodeTls;
import ferry.migration.Tuning;
import ferry.migration.qemu.QemuFeatures;
import ferry.migration.qemu.QemuTls;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.protocol.QCryptoTLSCredsEndpoint;
import ferry.qmp.QmpCommandException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which stream settings QEMU 10 takes together with TLS, asked of a real idle QEMU whose
 * migration has TLS credentials: every setup Ferry builds (pre-copy policies, postcopy with
 * preempt, multifd with compression) is accepted, and the one capability QEMU refuses with TLS
 * (zero-copy-send; Ferry never turns it on) is refused, so the README's list stays true.
 */
@Timeout(60)
class TlsCapabilitiesQemuTest {
    @TempDir
    Path dir;

    @Test
    void everySetupFerryBuildsIsAcceptedWithTlsAndOnlyZeroCopyIsRefused() {
        QemuBinary qemu = QemuBinary.find();
        CertificateAuthority ca = CertificateAuthority.create("t");
        NodeTls tls = new NodeTls(ca.issue(Identity.node("a"), List.of("127.0.0.1"), Duration.ofHours(1)),
                ca.certificate());
        QemuProcess q = QemuProcess.builder(qemu, dir).name("ferry-tls-caps").machine("none").memoryMiB(16).start();
        try {
            QemuTls.load(q, dir, QCryptoTLSCredsEndpoint.CLIENT, tls);
            QemuTls.useAsClient(q, "127.0.0.1");
            QemuFeatures features = QemuFeatures.of(q, "a", qemu.version(), true);
            Set<String> caps = features.capabilities();
            var all = new MigrationRequest.Limits(60, true, true, true, null);
            Tuning multifd = new Tuning(4, "zstd", 3, "multifd", null, null, false, false, null, false, null);
            Tuning others = new Tuning(null, null, null, null, true, 16, true, true, null, true, null);
            Set<String> tried = new java.util.TreeSet<>();
            for (String policy : Policies.NAMES) {
                for (Tuning t : List.of(Tuning.NONE, multifd, others)) {
                    var limits = t.multifd() ? MigrationRequest.Limits.DEFAULTS : all;
                    if (!t.conflicts(policy, limits, Policies.turnsOn(policy, limits)).isEmpty()) {
                        continue; // prepare refuses it before any QEMU sees it (e.g. multifd with classic's xbzrle)
                    }
                    var ctx = new Policies.Context(1024, 2, 64L << 20, null, 60_000, limits, caps, caps, false);
                    StreamSetup s = StreamSetup.of(Policies.create(policy, ctx).setup(), t, features, 16L << 20);
                    q.qmp().execute("migrate-set-capabilities", StreamSetup.capabilityArgs(s.sourceCaps()));
                    s.sourceCaps().forEach((c, on) -> {
                        if (on) {
                            tried.add(c);
                        }
                    });
                    q.qmp().execute("migrate-set-parameters", s.sourceParams());
                    q.qmp().execute("migrate-set-capabilities", StreamSetup.capabilityArgs(off(s.sourceCaps())));
                }
            }
            assertThat(tried).contains("postcopy-ram", "postcopy-preempt", "multifd", "xbzrle", "auto-converge",
                    "switchover-ack", "return-path", "pause-before-switchover");
            QmpCommandException refused = catchThrowableOfType(QmpCommandException.class, () ->
                    q.qmp().execute("migrate-set-capabilities", StreamSetup.capabilityArgs(
                            new java.util.LinkedHashMap<>(Map.of("multifd", true, "zero-copy-send", true)))));
            assertThat(refused).isNotNull();
            assertThat(refused.description()).contains("non-TLS");
        } finally {
            q.kill();
        }
    }

    private static Map<String, Boolean> off(Map<String, Boolean> caps) {
        Map<String, Boolean> o = new java.util.LinkedHashMap<>();
        List<String> names = new java.util.ArrayList<>(caps.keySet());
        java.util.Collections.reverse(names); // dependants first (preempt before postcopy-ram)
        names.forEach(n -> o.put(n, false));
        return o;
    }
}
