package ferry.migration.qemu;

import ferry.cluster.pki.Pem;
import ferry.migration.NodeTls;
import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.protocol.AuthZSimpleProperties;
import ferry.protocol.Commands;
import ferry.protocol.MigrateSetParameters;
import ferry.protocol.MigrationParameters;
import ferry.protocol.ObjectDelArgs;
import ferry.protocol.ObjectOptions;
import ferry.protocol.QCryptoTLSCredsEndpoint;
import ferry.protocol.StrOrNull;
import ferry.protocol.TlsCredsX509Properties;
import ferry.qmp.QmpCommandException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * QEMU's native TLS for one VM's QEMU: its credentials as a {@code tls-creds-x509} object, the
 * target's {@code authz-simple} naming the one source it admits, and the migration parameters
 * that put both to use. Everything goes over QMP, so no path or key shows on a command line.
 *
 * <p>The files QEMU reads (in its layout: {@code ca-cert.pem}, {@code server-cert.pem} …) live in
 * the VM's run directory only while {@code object-add} runs: QEMU loads them into memory then and
 * never reads them again (postcopy recovery and multifd channels use the loaded object), so they
 * are removed at once, whether the object was made or not.
 */
public final class QemuTls {
    /** The id of the credentials object, the same on both ends (and for the NBD server and client). */
    public static final String CREDS = "ferry-tls";
    /** The id of the target's authorization object. */
    public static final String AUTHZ = "ferry-tls-authz";
    public static final String FOLDER = "tls";

    private QemuTls() {}

    /**
     * Gives {@code q} the node's credentials for {@code side}, replacing those of an earlier
     * migration of the same QEMU.
     */
    public static void load(QemuProcess q, Path runDir, QCryptoTLSCredsEndpoint side, NodeTls tls) {
        Path dir = runDir.resolve(FOLDER);
        try {
            write(dir, side, tls);
            delete(q, CREDS);
            q.qmp().call(Commands.OBJECT_ADD, new ObjectOptions.TlsCredsX509(CREDS, TlsCredsX509Properties.builder()
                    .dir(dir.toString()).endpoint(side).verifyPeer(true).build()));
        } finally {
            remove(dir);
        }
    }

    /** Admits to {@code q}'s incoming streams only a peer whose certificate is {@code node}'s. */
    public static void admitOnly(QemuProcess q, String node) {
        delete(q, AUTHZ);
        q.qmp().call(Commands.OBJECT_ADD, new ObjectOptions.AuthzSimple(AUTHZ,
                new AuthZSimpleProperties(NodeTls.identityOf(node))));
    }

    /** The source's stream: TLS with the loaded credentials, checking the target's certificate names {@code host}. */
    public static void useAsClient(QemuProcess q, String host) {
        q.qmp().call(Commands.MIGRATE_SET_PARAMETERS, MigrateSetParameters.builder().tlsCreds(str(CREDS))
                .tlsHostname(str(host)).tlsAuthz(str("")).build());
    }

    /** The target's stream: TLS with the loaded credentials, admitting only what {@link #admitOnly} named. */
    public static void useAsServer(QemuProcess q) {
        q.qmp().call(Commands.MIGRATE_SET_PARAMETERS, MigrateSetParameters.builder().tlsCreds(str(CREDS))
                .tlsAuthz(str(AUTHZ)).build());
    }

    /** A plain TCP stream (an earlier TLS migration of the same QEMU must not linger). */
    public static void usePlain(QemuProcess q) {
        q.qmp().call(Commands.MIGRATE_SET_PARAMETERS, MigrateSetParameters.builder().tlsCreds(str(""))
                .tlsHostname(str("")).tlsAuthz(str("")).build());
    }

    /** The credentials and authorization an incoming QEMU's migration uses, if TLS is on: the NBD server takes the same. */
    public static Optional<ServerTls> serverOf(QemuProcess q) {
        MigrationParameters p = q.qmp().call(Commands.QUERY_MIGRATE_PARAMETERS);
        if (p.tlsCreds() == null || p.tlsCreds().isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new ServerTls(p.tlsCreds(), p.tlsAuthz() == null || p.tlsAuthz().isEmpty() ? null
                : p.tlsAuthz()));
    }

    public record ServerTls(String creds, String authz) {}

    private static StrOrNull str(String s) {
        return new StrOrNull.S(s);
    }

    private static void delete(QemuProcess q, String id) {
        try {
            q.qmp().call(Commands.OBJECT_DEL, new ObjectDelArgs(id));
        } catch (QmpCommandException e) {
            // none yet: the usual case
        }
    }

    /** QEMU's layout for one side: the CA, and the node's certificate and key named for the side. */
    private static void write(Path dir, QCryptoTLSCredsEndpoint side, NodeTls tls) {
        String prefix = side == QCryptoTLSCredsEndpoint.SERVER ? "server" : "client";
        remove(dir); // a crash's leftover
        try {
            Files.createDirectories(dir.getParent());
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            writePrivate(dir.resolve("ca-cert.pem"), Pem.of(tls.ca()));
            writePrivate(dir.resolve(prefix + "-cert.pem"), Pem.of(tls.credential().certificate()));
            writePrivate(dir.resolve(prefix + "-key.pem"), Pem.of(tls.credential().key()));
            if (side == QCryptoTLSCredsEndpoint.SERVER) {
                writePrivate(dir.resolve("dh-params.pem"), Pem.dhParameters());
            }
        } catch (IOException e) {
            throw new NodeException("cannot write the TLS credentials to " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Created readable by the owner only before a byte is written. */
    private static void writePrivate(Path file, String text) throws IOException {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, text, StandardCharsets.US_ASCII);
    }

    public static void remove(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new NodeException("cannot remove the TLS credentials in " + dir + ": " + e.getMessage(), e);
        }
    }
}
