package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LinkRelayTest {
    private static final int IO_TIMEOUT_MS = 2_000;

    private EchoServer echo;
    private LinkRelay relay;

    @BeforeEach
    void setUp() throws IOException {
        echo = new EchoServer();
        relay = LinkRelay.start("127.0.0.1", echo.port());
    }

    @AfterEach
    void tearDown() {
        if (relay != null) {
            relay.close();
        }
        if (echo != null) {
            echo.close();
        }
    }

    @Test
    void relaysBytesBothWaysAndCountsThem() throws Exception {
        assertThat(relay.host()).isEqualTo("127.0.0.1");
        assertThat(relay.port()).isPositive().isNotEqualTo(echo.port());
        assertThat(relay.isCut()).isFalse();

        byte[] payload = new byte[1_000_000];
        new Random(42).nextBytes(payload);
        try (Socket s = dial()) {
            // Write from another thread: a megabyte does not fit in the socket buffers, so writing
            // it all before reading would deadlock against the echo.
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    s.getOutputStream().write(payload);
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            assertThat(readExactly(s, payload.length)).isEqualTo(payload);
            writer.join();
            assertThat(relay.openConnections()).isEqualTo(1);
        }
        waitFor(() -> relay.bytesRelayed() == 2L * payload.length, "bytes counted both ways");
        assertThat(relay.connectionsSeen()).isEqualTo(1);
        assertThat(echo.accepted()).isEqualTo(1);
        waitFor(() -> relay.openConnections() == 0, "connection forgotten after the client closed");
    }

    @Test
    void halfCloseIsPassedThroughSoTheReplyStillArrives() throws Exception {
        try (Socket s = dial()) {
            s.getOutputStream().write("last words".getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            // The echo server only shuts its side after seeing our EOF; the reply must still arrive.
            InputStream in = s.getInputStream();
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("last words");
        }
        waitFor(() -> relay.openConnections() == 0, "connection forgotten after both sides closed");
        assertThat(echo.accepted()).isEqualTo(1);
    }

    @Test
    void cutBreaksOpenConnectionsAndRefusesNewOnes() throws Exception {
        try (Socket s = dial()) {
            assertEchoes(s, "before the cut");
            assertThat(relay.openConnections()).isEqualTo(1);
            int accepted = echo.accepted();

            relay.cut();

            assertThat(relay.isCut()).isTrue();
            assertThat(relay.openConnections()).isZero();
            assertThat(readOutcome(s)).isIn(Outcome.EOF, Outcome.ERROR);
            waitFor(() -> echo.closedByPeer() == 1, "echo server saw its connection break");

            relay.cut(); // idempotent
            assertThat(relay.isCut()).isTrue();

            assertThat(dialWhileCut()).isIn(Outcome.EOF, Outcome.ERROR);
            assertThat(relay.connectionsSeen()).isEqualTo(2);
            assertThat(relay.openConnections()).isZero();
            Thread.sleep(200); // give a wrongly forwarded connection time to show up
            assertThat(echo.accepted()).as("connections reaching the target while cut").isEqualTo(accepted);
        }
    }

    @Test
    void cutInterruptsAStreamInFlight() throws Exception {
        try (Socket s = dial()) {
            CountDownLatch flowing = new CountDownLatch(1);
            AtomicReference<Throwable> writerEnd = new AtomicReference<>();
            Thread writer = Thread.ofVirtual().start(() -> {
                byte[] chunk = new byte[64 * 1024];
                try {
                    OutputStream out = s.getOutputStream();
                    while (true) {
                        out.write(chunk);
                        flowing.countDown();
                    }
                } catch (IOException e) {
                    writerEnd.set(e);
                }
            });
            Thread reader = Thread.ofVirtual().start(() -> {
                byte[] buf = new byte[64 * 1024];
                try {
                    InputStream in = s.getInputStream();
                    while (in.read(buf) >= 0) {
                        // drain the echo so the stream keeps moving
                    }
                } catch (IOException e) {
                    // expected once the link breaks
                }
            });
            assertThat(flowing.await(IO_TIMEOUT_MS, TimeUnit.MILLISECONDS)).isTrue();
            waitFor(() -> relay.bytesRelayed() > 1_000_000, "stream flowing through the relay");

            relay.cut();

            assertThat(reader.join(Duration.ofMillis(IO_TIMEOUT_MS))).as("reader ended").isTrue();
            // The reader ended, so the client socket saw the reset; the writer fails on its next write.
            assertThat(writer.join(Duration.ofMillis(IO_TIMEOUT_MS))).as("writer ended").isTrue();
            assertThat(writerEnd.get()).isInstanceOf(IOException.class);
            assertThat(relay.openConnections()).isZero();
        }
    }

    @Test
    void restoreRelaysNewConnectionsAgain() throws Exception {
        relay.cut();
        assertThat(dialWhileCut()).isIn(Outcome.EOF, Outcome.ERROR);
        assertThat(relay.connectionsSeen()).isEqualTo(1);
        int accepted = echo.accepted();

        relay.restore();

        assertThat(relay.isCut()).isFalse();
        try (Socket s = dial()) {
            assertEchoes(s, "after the restore");
            assertThat(relay.openConnections()).isEqualTo(1);
        }
        assertThat(echo.accepted()).isEqualTo(accepted + 1);
        assertThat(relay.connectionsSeen()).isEqualTo(2);
    }

    @Test
    void closeFreesThePortAndBreaksOpenConnections() throws Exception {
        int port = relay.port();
        try (Socket s = dial()) {
            assertEchoes(s, "before close");
            relay.close();
            relay.close(); // idempotent
            assertThat(readOutcome(s)).isIn(Outcome.EOF, Outcome.ERROR);
        }
        assertThat(relay.openConnections()).isZero();
        assertThatThrownBy(() -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), IO_TIMEOUT_MS);
            }
        }).isInstanceOf(ConnectException.class);
        try (ServerSocket again = new ServerSocket()) {
            again.setReuseAddress(true);
            again.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
            assertThat(again.getLocalPort()).isEqualTo(port);
        }
    }

    @Test
    void rejectsAnImpossibleTargetPort() {
        assertThatThrownBy(() -> LinkRelay.start("127.0.0.1", 0)).isInstanceOf(IllegalArgumentException.class);
    }

    // ---------------------------------------------------------------------------------------------

    private Socket dial() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress(relay.host(), relay.port()), IO_TIMEOUT_MS);
        s.setSoTimeout(IO_TIMEOUT_MS);
        return s;
    }

    /**
     * Dials while the link is cut. The relay accepts and resets at once, so the reset may already
     * fail the connect itself; that counts as an error outcome like a failing read.
     */
    private Outcome dialWhileCut() {
        try (Socket s = dial()) {
            return readOutcome(s);
        } catch (IOException e) {
            return Outcome.ERROR;
        }
    }

    private static void assertEchoes(Socket s, String text) throws IOException {
        byte[] msg = text.getBytes(StandardCharsets.UTF_8);
        s.getOutputStream().write(msg);
        assertThat(readExactly(s, msg.length)).isEqualTo(msg);
    }

    private static byte[] readExactly(Socket s, int n) throws IOException {
        byte[] got = s.getInputStream().readNBytes(n);
        assertThat(got.length).as("bytes before EOF").isEqualTo(n);
        return got;
    }

    private enum Outcome { DATA, EOF, ERROR, TIMEOUT }

    /** What a single read on {@code s} does within the socket timeout. */
    private static Outcome readOutcome(Socket s) {
        try {
            return s.getInputStream().read() < 0 ? Outcome.EOF : Outcome.DATA;
        } catch (SocketTimeoutException e) {
            return Outcome.TIMEOUT;
        } catch (IOException e) {
            return Outcome.ERROR;
        }
    }

    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(IO_TIMEOUT_MS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(10);
        }
    }

    /** Echoes every byte back and mirrors half-close; counts what happens to its connections. */
    private static final class EchoServer implements AutoCloseable {
        private final ServerSocket server;
        private final AtomicInteger accepted = new AtomicInteger();
        private final AtomicInteger closedByPeer = new AtomicInteger();
        private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

        EchoServer() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread.ofVirtual().name("echo-accept").start(this::acceptLoop);
        }

        int port() {
            return server.getLocalPort();
        }

        int accepted() {
            return accepted.get();
        }

        /** Connections that ended by an error (such as a reset) rather than a clean EOF. */
        int closedByPeer() {
            return closedByPeer.get();
        }

        private void acceptLoop() {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    accepted.incrementAndGet();
                    sockets.add(s);
                    Thread.ofVirtual().name("echo").start(() -> serve(s));
                } catch (IOException e) {
                    return;
                }
            }
        }

        private void serve(Socket s) {
            byte[] buf = new byte[64 * 1024];
            try (s) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    out.write(buf, 0, n);
                }
                s.shutdownOutput();
            } catch (IOException e) {
                closedByPeer.incrementAndGet();
            } finally {
                sockets.remove(s);
            }
        }

        @Override
        public void close() {
            try {
                server.close();
            } catch (IOException e) {
                // best effort
            }
            for (Socket s : Arrays.asList(sockets.toArray(Socket[]::new))) {
                try {
                    s.close();
                } catch (IOException e) {
                    // best effort
                }
            }
        }
    }
}
