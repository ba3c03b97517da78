package ferry.qmp.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.qapi.QapiJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A scripted QMP peer for the failures real QEMU cannot be made to produce: wrong ids, garbage,
 * over-long lines, hang-ups. Listens on a UNIX socket in a fresh temp dir and on TCP 127.0.0.1
 * (an ephemeral port, loopback only). Each accepted connection is a {@link Session} that sends the
 * configured greeting, records every line it receives, answers {@code qmp_capabilities} with
 * {@code {}} and hands every other request to the {@link Handler}. Shared as a test jar: the
 * migration module scripts the failures of a running migration with it.
 */
public final class FakeQmpServer implements AutoCloseable {
    public static final ObjectMapper JSON = QapiJson.mapper();

    /** Answers one request; runs on the session's reader thread, so requests arrive one at a time. */
    @FunctionalInterface
    public interface Handler {
        void handle(Request request, Session session) throws IOException;
    }

    /** One command as the client sent it. */
    public record Request(ObjectNode message) {
        public String command() {
            return message.has("exec-oob") ? message.get("exec-oob").asText() : message.path("execute").asText();
        }

        public boolean oob() {
            return message.has("exec-oob");
        }

        public JsonNode id() {
            return message.get("id");
        }

        /** The arguments, or null when none were sent. */
        public JsonNode arguments() {
            return message.get("arguments");
        }
    }

    private final Path dir;
    private final Path socketPath;
    private final ServerSocketChannel unix;
    private final ServerSocketChannel tcp;
    private volatile ObjectNode greeting = greetingFor(9, 2, 0, "oob");
    private volatile Handler handler = (req, s) -> s.reply(req, JSON.createObjectNode());
    /** Every line received on any session, in order of arrival. */
    public final List<String> received = new CopyOnWriteArrayList<>();
    private final BlockingQueue<Session> accepted = new LinkedBlockingQueue<>();
    private final List<Session> sessions = new CopyOnWriteArrayList<>();

    public FakeQmpServer() throws IOException {
        dir = Files.createTempDirectory("fakeqmp");
        socketPath = dir.resolve("qmp.sock");
        unix = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(socketPath));
        tcp = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        acceptLoop(unix);
        acceptLoop(tcp);
    }

    public static ObjectNode greetingFor(int major, int minor, int micro, String... capabilities) {
        ObjectNode g = JSON.createObjectNode();
        ObjectNode qmp = g.putObject("QMP");
        ObjectNode version = qmp.putObject("version");
        version.putObject("qemu").put("major", major).put("minor", minor).put("micro", micro);
        version.put("package", "v" + major + "." + minor + "." + micro + "-fake");
        var caps = qmp.putArray("capabilities");
        for (String c : capabilities) {
            caps.add(c);
        }
        return g;
    }

    /** Greets with this version and capabilities. */
    public FakeQmpServer greeting(int major, int minor, int micro, String... capabilities) {
        greeting = greetingFor(major, minor, micro, capabilities);
        return this;
    }

    /** Never sends a greeting. */
    public FakeQmpServer silent() {
        greeting = null;
        return this;
    }

    public FakeQmpServer handler(Handler h) {
        handler = h;
        return this;
    }

    public Path socketPath() {
        return socketPath;
    }

    public int tcpPort() {
        return tcp.socket().getLocalPort();
    }

    /** The next accepted session (the first one on the first call). */
    public Session session() throws InterruptedException {
        Session s = accepted.poll(5, TimeUnit.SECONDS);
        if (s == null) {
            throw new AssertionError("no client connected to the fake QMP server");
        }
        return s;
    }

    /** Received lines parsed as JSON objects. */
    public List<ObjectNode> requests() {
        return received.stream().map(FakeQmpServer::parse).toList();
    }

    /** The requests received with this command name, in order. */
    public List<ObjectNode> commands(String name) {
        return requests().stream().filter(r -> new Request(r).command().equals(name)).toList();
    }

    public static ObjectNode parse(String json) {
        try {
            return (ObjectNode) JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void acceptLoop(ServerSocketChannel server) {
        Thread.ofPlatform().daemon().name("fake-qmp-accept").start(() -> {
            while (server.isOpen()) {
                try {
                    Session s = new Session(server.accept());
                    sessions.add(s);
                    accepted.add(s);
                    s.start();
                } catch (IOException e) {
                    return; // closed
                }
            }
        });
    }

    @Override
    public void close() throws IOException {
        unix.close();
        tcp.close();
        for (Session s : sessions) {
            s.disconnect();
        }
        Files.deleteIfExists(socketPath);
        Files.deleteIfExists(dir);
    }

    /** One client connection, as QEMU would see it. */
    public final class Session {
        private final SocketChannel channel;
        private final CountDownLatch ended = new CountDownLatch(1);
        private volatile boolean closedByUs;

        private Session(SocketChannel channel) {
            this.channel = channel;
        }

        private void start() {
            Thread.ofPlatform().daemon().name("fake-qmp-session").start(this::run);
        }

        private void run() {
            try {
                ObjectNode g = greeting;
                if (g != null) {
                    send(g);
                }
                ByteBuffer in = ByteBuffer.allocate(8192);
                ByteArrayOutputStream line = new ByteArrayOutputStream();
                while (channel.read(in) >= 0) {
                    in.flip();
                    while (in.hasRemaining()) {
                        byte b = in.get();
                        if (b != '\n') {
                            line.write(b);
                            continue;
                        }
                        String text = line.toString(StandardCharsets.UTF_8);
                        line.reset();
                        received.add(text);
                        Request req = new Request(parse(text));
                        if (req.command().equals("qmp_capabilities")) {
                            reply(req, JSON.createObjectNode());
                        } else {
                            handler.handle(req, this);
                        }
                    }
                    in.clear();
                }
            } catch (IOException e) {
                // the client hung up (or we did)
            } finally {
                if (channel.isOpen()) {
                    disconnect();
                    closedByUs = false; // the client's end-of-stream came first
                }
                ended.countDown();
            }
        }

        public void sendRaw(byte[] bytes) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            synchronized (this) {
                while (buf.hasRemaining()) {
                    channel.write(buf);
                }
            }
        }

        public void sendLine(String line) throws IOException {
            sendRaw((line + "\n").getBytes(StandardCharsets.UTF_8));
        }

        public void send(JsonNode message) throws IOException {
            sendLine(JSON.writeValueAsString(message));
        }

        public void reply(Request req, JsonNode result) throws IOException {
            ObjectNode r = JSON.createObjectNode();
            r.set("return", result);
            r.set("id", req.id());
            send(r);
        }

        /** Replies with a JSON text as the return value. */
        public void reply(Request req, String resultJson) throws IOException {
            reply(req, parse(resultJson));
        }

        public void error(Request req, String errorClass, String description) throws IOException {
            ObjectNode r = JSON.createObjectNode();
            r.putObject("error").put("class", errorClass).put("desc", description);
            r.set("id", req.id());
            send(r);
        }

        /** Sends {@code reply(req, result)} after a delay, from another thread. */
        public void replyLater(Request req, JsonNode result, Duration delay) {
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(delay);
                    reply(req, result);
                } catch (IOException | InterruptedException ignored) {
                    // the client is gone
                }
            });
        }

        public void event(String name, String dataJson, long seconds, long micros) throws IOException {
            ObjectNode e = JSON.createObjectNode();
            e.put("event", name);
            if (dataJson != null) {
                e.set("data", parse(dataJson));
            }
            e.putObject("timestamp").put("seconds", seconds).put("microseconds", micros);
            send(e);
        }

        public void event(String name, String dataJson) throws IOException {
            event(name, dataJson, 1_700_000_000L, 123_456L);
        }

        public void disconnect() {
            closedByUs = true;
            try {
                channel.close();
            } catch (IOException ignored) {
                // best effort
            }
        }

        /** Whether the client closed its end (we read end-of-stream) within the time. */
        public boolean awaitClosedByClient(Duration timeout) throws InterruptedException {
            return ended.await(timeout.toMillis(), TimeUnit.MILLISECONDS) && !closedByUs;
        }
    }
}
