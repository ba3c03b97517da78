package ferry.migration.phase;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.qapi.QapiJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A minimal scripted QMP peer on a UNIX socket in a fresh temp dir, for what real QEMU cannot be
 * made to produce on demand (failing or stalling query-migrate). Serves one client at a time,
 * greets as QEMU 10.0.0, answers {@code qmp_capabilities} and hands every other command to the
 * handler, which runs on the session thread (requests arrive one at a time).
 */
final class FakeQmp implements AutoCloseable {
    static final ObjectMapper JSON = QapiJson.mapper();

    @FunctionalInterface
    interface Handler {
        void handle(ObjectNode request, FakeQmp qmp) throws IOException;
    }

    private final Path dir;
    private final Path socket;
    private final ServerSocketChannel server;
    private volatile Handler handler = (req, q) -> q.reply(req, JSON.createObjectNode());
    private volatile SocketChannel client;
    /** Every command received (qmp_capabilities included), in order. */
    final List<ObjectNode> received = new CopyOnWriteArrayList<>();

    FakeQmp() throws IOException {
        dir = Files.createTempDirectory("fqmp");
        socket = dir.resolve("qmp.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(socket));
        Thread.ofPlatform().daemon().name("fake-qmp-accept").start(this::acceptLoop);
    }

    Path socket() {
        return socket;
    }

    FakeQmp handler(Handler h) {
        handler = h;
        return this;
    }

    /** The commands received with this name, in order. */
    List<ObjectNode> commands(String name) {
        return received.stream().filter(r -> r.path("execute").asText().equals(name)).toList();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try (SocketChannel c = server.accept()) {
                client = c;
                serve(c);
            } catch (IOException e) {
                if (!server.isOpen()) {
                    return;
                }
            }
        }
    }

    private void serve(SocketChannel c) throws IOException {
        send(c, "{\"QMP\":{\"version\":{\"qemu\":{\"major\":10,\"minor\":0,\"micro\":0},\"package\":\"fake\"},"
                + "\"capabilities\":[]}}");
        ByteBuffer in = ByteBuffer.allocate(8192);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        while (c.read(in) >= 0) {
            in.flip();
            while (in.hasRemaining()) {
                byte b = in.get();
                if (b != '\n') {
                    line.write(b);
                    continue;
                }
                ObjectNode req = parse(line.toString(StandardCharsets.UTF_8));
                line.reset();
                received.add(req);
                if (req.path("execute").asText().equals("qmp_capabilities")) {
                    reply(req, JSON.createObjectNode());
                } else {
                    handler.handle(req, this);
                }
            }
            in.clear();
        }
    }

    static ObjectNode parse(String json) {
        try {
            return (ObjectNode) JSON.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void send(SocketChannel c, String line) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8));
        synchronized (c) {
            while (buf.hasRemaining()) {
                c.write(buf);
            }
        }
    }

    private void send(JsonNode msg) throws IOException {
        SocketChannel c = client;
        if (c == null) {
            throw new IOException("no client connected");
        }
        send(c, JSON.writeValueAsString(msg));
    }

    void reply(ObjectNode req, JsonNode result) throws IOException {
        ObjectNode r = JSON.createObjectNode();
        r.set("return", result);
        r.set("id", req.get("id"));
        send(r);
    }

    /** Replies with a JSON text as the return value. */
    void reply(ObjectNode req, String resultJson) throws IOException {
        reply(req, parse(resultJson));
    }

    void error(ObjectNode req, String errorClass, String desc) throws IOException {
        ObjectNode r = JSON.createObjectNode();
        r.putObject("error").put("class", errorClass).put("desc", desc);
        r.set("id", req.get("id"));
        send(r);
    }

    void event(String name, String dataJson) throws IOException {
        ObjectNode e = JSON.createObjectNode();
        e.put("event", name);
        e.set("data", parse(dataJson));
        e.putObject("timestamp").put("seconds", 1_700_000_000L).put("microseconds", 1);
        send(e);
    }

    /** Hangs up on the current client. */
    void disconnect() throws IOException {
        SocketChannel c = client;
        if (c != null) {
            c.close();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        disconnect();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(dir);
    }
}
