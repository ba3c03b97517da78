package ferry.testkit.netns;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * A TCP sink and sender run as child processes inside host namespaces (the test JVM sits in the
 * root namespace and cannot reach the hosts). {@code sink PORT} counts what each connection sends
 * and answers the count; {@code send HOST PORT BYTES TIMEOUT_MS} sends and prints "sent N in M ms".
 */
public final class TcpProbe {
    static final String LISTENING = "listening";

    public static void main(String[] args) throws Exception {
        if (args[0].equals("sink")) {
            sink(Integer.parseInt(args[1]));
        } else {
            try {
                send(args[1], Integer.parseInt(args[2]), Long.parseLong(args[3]), Integer.parseInt(args[4]));
            } catch (Exception e) {
                System.out.println("failed: " + e);
                System.exit(3);
            }
        }
    }

    private static void sink(int port) throws Exception {
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(port));
            System.out.println(LISTENING);
            System.out.flush();
            while (true) {
                try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    byte[] buf = new byte[65536];
                    long total = 0;
                    for (int n; (n = in.read(buf)) > 0; ) {
                        total += n;
                    }
                    new DataOutputStream(s.getOutputStream()).writeLong(total);
                }
            }
        }
    }

    private static void send(String host, int port, long bytes, int timeoutMs) throws Exception {
        try (Socket s = new Socket()) {
            long start = System.nanoTime();
            s.connect(new InetSocketAddress(host, port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[65536];
            for (long left = bytes; left > 0; left -= Math.min(left, buf.length)) {
                out.write(buf, 0, (int) Math.min(left, buf.length));
            }
            s.shutdownOutput();
            long received = new DataInputStream(s.getInputStream()).readLong();
            System.out.println("sent " + received + " in " + (System.nanoTime() - start) / 1_000_000 + " ms");
        }
    }
}
