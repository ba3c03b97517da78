package ferry.qmp;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.net.SocketAddress;
import java.nio.channels.SocketChannel;
import java.time.Duration;

/** Opens a blocking socket channel to a UNIX or TCP address, with a time limit on connecting. */
record Connection(SocketChannel channel, String peer) {
    static Connection open(SocketAddress address, Duration timeout) {
        String peer = address instanceof UnixDomainSocketAddress u ? u.getPath().toString() : String.valueOf(address);
        try {
            if (address instanceof UnixDomainSocketAddress) {
                SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    ch.connect(address);
                } catch (IOException e) {
                    ch.close();
                    throw e;
                }
                return new Connection(ch, peer);
            }
            if (!(address instanceof InetSocketAddress)) {
                throw new IllegalArgumentException("unsupported QMP address " + address);
            }
            SocketChannel ch = SocketChannel.open();
            try (Selector sel = Selector.open()) {
                ch.configureBlocking(false);
                if (!ch.connect(address)) {
                    ch.register(sel, SelectionKey.OP_CONNECT);
                    if (sel.select(Math.max(1, timeout.toMillis())) == 0) {
                        throw new IOException("no answer within " + timeout.toMillis() + " ms");
                    }
                    ch.finishConnect();
                }
                sel.selectedKeys().clear();
                ch.keyFor(sel);
            } catch (IOException e) {
                ch.close();
                throw e;
            }
            ch.configureBlocking(true);
            return new Connection(ch, peer);
        } catch (IOException e) {
            throw new QmpConnectionException("cannot connect to QMP at " + peer + ": " + e.getMessage()
                    + " (is QEMU running with -qmp on that address?)", e);
        }
    }
}
