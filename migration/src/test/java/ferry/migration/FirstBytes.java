package ferry.migration;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback relay that keeps the first bytes each connection's client sent: what anyone on the
 * path would see of a migration stream.
 */
final class FirstBytes implements AutoCloseable {
    private final ServerSocket server;
    private final List<byte[]> firsts = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();

    FirstBytes(String host, int port) throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread.ofVirtual().start(() -> {
            try {
                while (true) {
                    Socket in = server.accept();
                    Socket out = new Socket(host, port);
                    sockets.add(in);
                    sockets.add(out);
                    Thread.ofVirtual().start(() -> pump(in, out, true));
                    Thread.ofVirtual().start(() -> pump(out, in, false));
                }
            } catch (IOException closed) {
                // the relay was closed
            }
        });
    }

    int port() {
        return server.getLocalPort();
    }

    /** The first bytes (up to 8) of every connection so far, in the order they came. */
    List<byte[]> firsts() {
        return List.copyOf(firsts);
    }

    private void pump(Socket from, Socket to, boolean record) {
        byte[] buf = new byte[64 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            int n;
            boolean first = record;
            while ((n = in.read(buf)) >= 0) {
                if (first && n > 0) {
                    firsts.add(Arrays.copyOf(buf, Math.min(n, 8)));
                    first = false;
                }
                out.write(buf, 0, n);
            }
        } catch (IOException ended) {
            // one side closed
        } finally {
            close(from);
            close(to);
        }
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        sockets.forEach(FirstBytes::close);
    }
}
