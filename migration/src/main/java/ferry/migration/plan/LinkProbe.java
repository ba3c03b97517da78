package ferry.migration.plan;

import ferry.migration.TargetNode;
import ferry.node.NodeException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;

/** Measures the link to a target by streaming to its probe sink for a moment. */
public final class LinkProbe {
    public static final int MAX_SECONDS = 5;

    private LinkProbe() {}

    /** Bytes per second sent to {@code sink} during {@code window} (at most {@link #MAX_SECONDS}). */
    public static double measure(TargetNode.Endpoint sink, Duration window) {
        long ms = Math.min(window.toMillis(), MAX_SECONDS * 1000L - 500);
        byte[] chunk = new byte[256 << 10];
        // random-looking bytes: a compressing link must not flatter the figure
        new java.util.SplittableRandom(42).nextBytes(chunk);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(sink.host(), sink.port()), 5000);
            OutputStream out = s.getOutputStream();
            long start = System.nanoTime();
            long end = start + ms * 1_000_000L;
            long sent = 0;
            while (System.nanoTime() < end) {
                out.write(chunk);
                sent += chunk.length;
            }
            out.flush();
            return sent / ((System.nanoTime() - start) / 1e9);
        } catch (IOException e) {
            throw new NodeException("link probe to " + sink.host() + ":" + sink.port() + " failed: " + e.getMessage(), e);
        }
    }
}
