package ferry.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Just enough QMP for the bootblock tests (the real client lives elsewhere): one command at a
 * time, replies matched by skipping asynchronous event lines.
 */
final class RawQmp implements AutoCloseable {
    private final SocketChannel channel;
    private final BufferedReader in;

    private RawQmp(SocketChannel channel) throws IOException {
        this.channel = channel;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
        String greeting = in.readLine();
        if (greeting == null || !greeting.contains("\"QMP\"")) {
            throw new IOException("unexpected QMP greeting: " + greeting);
        }
        execute("{\"execute\":\"qmp_capabilities\"}");
    }

    /** Connects, retrying while QEMU has not created the socket yet. */
    static RawQmp connect(Path socket, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
                return new RawQmp(ch);
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("cannot connect to QMP at " + socket, e);
                }
                Thread.sleep(50);
            }
        }
    }

    /** Sends one JSON command and returns its {@code return} line; throws on an {@code error} reply. */
    String execute(String json) throws IOException {
        channel.write(ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8)));
        for (String line; (line = in.readLine()) != null; ) {
            if (line.contains("\"return\"")) {
                return line;
            }
            if (line.contains("\"error\"")) {
                throw new IOException("QMP " + json + " failed: " + line);
            }
            // Anything else is an event; keep reading.
        }
        throw new IOException("QMP connection closed while waiting for the reply to " + json);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
