package ferry.migration;

import ferry.cluster.pki.CertificateAuthority;
import ferry.cluster.pki.Identity;
import ferry.migration.qemu.QemuTls;
import ferry.node.QemuBinary;
import ferry.node.QemuProcess;
import ferry.protocol.QCryptoTLSCredsEndpoint;
import ferry.qmp.QmpCommandException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Whether this host's QEMU can carry Ferry's streams over TLS. The QOM types say nothing (QEMU
 * registers {@code tls-creds-x509} with or without GnuTLS and fails only when an object loads), so
 * a short-lived QEMU without a guest loads credentials of a throwaway CA made the way the
 * cluster's are, as server and as client: that proves GnuTLS is built in and takes Ferry's
 * certificates and keys.
 */
public final class TlsCheck {
    /** @param detail what QEMU said when it could not, or what it loaded */
    public record Result(boolean able, String detail) {}

    private TlsCheck() {}

    /** Runs the check in {@code scratch}, a folder of its own that it removes. */
    public static Result run(QemuBinary qemu, Path scratch) {
        CertificateAuthority ca = CertificateAuthority.create("doctor");
        NodeTls tls = new NodeTls(ca.issue(Identity.node("doctor"), List.of("127.0.0.1"), Duration.ofHours(1)),
                ca.certificate());
        try (QemuProcess q = QemuProcess.builder(qemu, scratch).name("ferry-tls-check").machine("none").memoryMiB(16)
                .start()) {
            for (QCryptoTLSCredsEndpoint side : List.of(QCryptoTLSCredsEndpoint.SERVER, QCryptoTLSCredsEndpoint.CLIENT)) {
                QemuTls.load(q, scratch, side, tls);
            }
            return new Result(true, "loaded a throwaway CA's node certificate as TLS server and client");
        } catch (QmpCommandException e) {
            String why = e.description();
            return new Result(false, why.contains("GNUTLS") ? "QEMU was built without GnuTLS (" + why + ")" : why);
        } finally {
            QemuTls.remove(scratch);
        }
    }
}
