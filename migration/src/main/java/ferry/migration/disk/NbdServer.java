package ferry.migration.disk;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.policy.Policies;
import ferry.migration.qemu.QemuTls;
import ferry.node.NodeException;
import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.protocol.InetSocketAddress;
import ferry.protocol.InetSocketAddressWrapper;
import ferry.protocol.NbdServerOptionsLegacy;
import ferry.protocol.SocketAddressLegacy;
import ferry.qmp.QmpCommandException;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.regex.Pattern;

/** The target QEMU's NBD server through which a source mirrors its local disks. */
public final class NbdServer {
    private static final Pattern DRIVE = Pattern.compile("disk\\d+");
    private static final int PORT_ATTEMPTS = 5;

    private NbdServer() {}

    /**
     * Starts QEMU's NBD server on {@code host} and returns its port. QEMU cannot tell which port it
     * picked for port 0, so a free one is found here and retried when another process took it first.
     * When the incoming migration goes over TLS, so does the server, admitting the same one source.
     */
    public static int start(QemuProcess q, String host, int vmid, String node) {
        QmpCommandException last = null;
        var tls = QemuTls.serverOf(q);
        for (int i = 0; i < PORT_ATTEMPTS; i++) {
            int port = freePort(host);
            try {
                q.qmp().call(Commands.NBD_SERVER_START, NbdServerOptionsLegacy.builder()
                        .addr(new SocketAddressLegacy.Inet(new InetSocketAddressWrapper(InetSocketAddress.builder()
                                .host(host).port(Integer.toString(port)).build())))
                        .tlsCreds(tls.map(QemuTls.ServerTls::creds).orElse(null))
                        .tlsAuthz(tls.map(QemuTls.ServerTls::authz).orElse(null))
                        .build());
                return port;
            } catch (QmpCommandException e) {
                last = e;
                if (!e.description().contains("in use")) {
                    break;
                }
            }
        }
        throw new NodeException("VM " + vmid + " on node '" + node + "' could not start its NBD server on " + host
                + ": " + (last == null ? "no free port" : last.description()));
    }

    /** A writable export of a drive's format node, named like the drive. */
    public static void export(QemuProcess q, String drive) {
        if (!DRIVE.matcher(drive).matches()) {
            throw new NodeException("'" + drive + "' is not a drive of Ferry's (disk0, disk1, ...)");
        }
        // raw arguments: the generated union record takes eight positional fields, most of them unset
        ObjectNode args = Policies.parameters().put("type", "nbd").put("id", "export-" + drive)
                .put("node-name", ferry.node.VmCommandLine.nodeName(Integer.parseInt(drive.substring(4))))
                .put("writable", true).put("name", drive);
        q.qmp().execute(Commands.BLOCK_EXPORT_ADD, args);
    }

    /** Stops the server and with it every export; a server that does not run is no error. */
    public static void stop(QemuProcess q) {
        try {
            q.qmp().call(Commands.NBD_SERVER_STOP);
        } catch (QmpCommandException e) {
            if (!e.description().contains("not running")) {
                throw e;
            }
        }
    }

    private static int freePort(String host) {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new java.net.InetSocketAddress(host, 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new NodeException("no free port on " + host + ": " + e.getMessage(), e);
        }
    }
}
