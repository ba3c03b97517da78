package ferry.qmp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.qapi.Command;
import ferry.qapi.QapiJson;
import ferry.qapi.Timestamp;
import java.io.IOException;
import java.lang.reflect.Type;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A QMP connection to one QEMU: greeting and capability negotiation, commands tagged with ids
 * and answered by id, events fanned out to subscribers. Thread-safe; one reader thread per
 * connection. When the link drops, every pending call fails at once with the reason.
 */
public final class QmpClient implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QmpClient.class);
    private static final ObjectMapper JSON = QapiJson.mapper();

    private record Pending(String command, JsonNode arguments, CompletableFuture<JsonNode> reply) {}

    private final String peer;
    private final LineChannel lines;
    private final QmpOptions options;
    private final ConcurrentHashMap<String, Pending> pending = new ConcurrentHashMap<>();
    private final List<EventSubscription> subscribers = new CopyOnWriteArrayList<>();
    private final AtomicLong nextId = new AtomicLong();
    private final AtomicLong unmatched = new AtomicLong();
    private final CompletableFuture<ObjectNode> greetingMessage = new CompletableFuture<>();
    private final Thread reader;
    private volatile String closedReason;
    private volatile QmpGreeting greeting;
    private volatile boolean oob;

    private QmpClient(Connection c, QmpOptions options) {
        this.peer = c.peer();
        this.options = options;
        this.lines = new LineChannel(c.channel(), options.maxLineBytes());
        this.reader = Thread.ofPlatform().daemon().name("qmp-reader " + peer).unstarted(this::readLoop);
    }

    /** Connects to QEMU's QMP socket at a UNIX path. */
    public static QmpClient connect(Path unixSocket, QmpOptions options) {
        return connect(UnixDomainSocketAddress.of(unixSocket), options);
    }

    /** Connects to a QMP server on TCP. */
    public static QmpClient connect(String host, int port, QmpOptions options) {
        return connect(new InetSocketAddress(host, port), options);
    }

    public static QmpClient connect(SocketAddress address, QmpOptions options) {
        QmpClient c = new QmpClient(Connection.open(address, options.connectTimeout()), options);
        c.reader.start();
        try {
            c.handshake();
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    private void handshake() {
        ObjectNode g;
        try {
            g = greetingMessage.get(options.connectTimeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new QmpConnectionException(peer + ": no QMP greeting within " + options.connectTimeout().toMillis()
                    + " ms; is this a QMP socket, and is QEMU busy?");
        } catch (ExecutionException e) {
            throw new QmpConnectionException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException(peer + ": interrupted while waiting for the QMP greeting");
        }
        greeting = Greetings.parse(peer, g);
        boolean wantOob = options.enableOob() && greeting.capabilities().contains("oob");
        ObjectNode args = JSON.createObjectNode();
        if (wantOob) {
            args.putArray("enable").add("oob");
        }
        join(executeAsync("qmp_capabilities", args, false, options.callTimeout()));
        oob = wantOob;
        log.debug("{}: QMP ready, QEMU {}, oob {}", peer, greeting.version(), oob);
    }

    public QmpGreeting greeting() {
        return greeting;
    }

    /** Whether out-of-band execution was negotiated. */
    public boolean oobEnabled() {
        return oob;
    }

    /** The peer's address, as it appears in error messages. */
    public String peer() {
        return peer;
    }

    public boolean isOpen() {
        return closedReason == null;
    }

    /** Replies whose id matched no waiting call (e.g. arriving after their call timed out). */
    public long unmatchedReplies() {
        return unmatched.get();
    }

    // ---- typed calls -------------------------------------------------------------------------

    public <R> R call(Command<Void, R> command) {
        return call(command, null);
    }

    public <A, R> R call(Command<A, R> command, A args) {
        return call(command, args, options.callTimeout());
    }

    public <A, R> R call(Command<A, R> command, A args, Duration timeout) {
        return join(callAsync(command, args, timeout));
    }

    public <A, R> CompletableFuture<R> callAsync(Command<A, R> command, A args) {
        return callAsync(command, args, options.callTimeout());
    }

    public <A, R> CompletableFuture<R> callAsync(Command<A, R> command, A args, Duration timeout) {
        return typed(command, args, false, timeout);
    }

    /** Sends an allow-oob command with {@code exec-oob}, so QEMU runs it even while its main loop is busy. */
    public <A, R> R callOob(Command<A, R> command, A args, Duration timeout) {
        if (!command.allowOob()) {
            throw new IllegalArgumentException("'" + command.name() + "' does not allow out-of-band execution");
        }
        if (!oob) {
            throw new QmpException(peer + ": out-of-band execution was not negotiated (QEMU did not offer 'oob')");
        }
        return join(typed(command, args, true, timeout));
    }

    private <A, R> CompletableFuture<R> typed(Command<A, R> command, A args, boolean outOfBand, Duration timeout) {
        JsonNode argNode = args == null ? null : JSON.valueToTree(args);
        return executeAsync(command.name(), argNode, outOfBand, timeout)
                .thenApply(reply -> decode(command.name(), reply, command.returnType()));
    }

    @SuppressWarnings("unchecked")
    private <R> R decode(String command, JsonNode reply, Type type) {
        if (type == Void.class) {
            return null;
        }
        try {
            return (R) JSON.readValue(JSON.treeAsTokens(reply), JSON.constructType(type));
        } catch (IOException e) {
            throw new QmpException(peer + ": cannot read the reply to '" + command + "': " + e.getMessage(), e);
        }
    }

    // ---- untyped calls -----------------------------------------------------------------------

    /**
     * Runs a bound command with JSON arguments and returns the raw reply: for arguments or replies
     * whose members may be newer than the binding (capability and parameter names of a later QEMU).
     */
    public JsonNode execute(Command<?, ?> command, JsonNode arguments) {
        return execute(command.name(), arguments);
    }

    /** Runs a command by name with JSON arguments (null for none) and returns the raw reply. */
    public JsonNode execute(String command, JsonNode arguments) {
        return join(executeAsync(command, arguments, false, options.callTimeout()));
    }

    public CompletableFuture<JsonNode> executeAsync(String command, JsonNode arguments, boolean outOfBand,
                                                    Duration timeout) {
        String id = "ferry-" + nextId.incrementAndGet();
        ObjectNode msg = JSON.createObjectNode();
        msg.put(outOfBand ? "exec-oob" : "execute", command);
        if (arguments != null && !(arguments.isObject() && arguments.isEmpty())) {
            msg.set("arguments", arguments);
        }
        msg.put("id", id);
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        pending.put(id, new Pending(command, arguments, reply));
        if (closedReason != null) {
            fail(id, new QmpConnectionException(closedReason, false)); // never written: the peer cannot have run it
            return reply;
        }
        var timer = Timer.schedule(() -> fail(id, new QmpTimeoutException(peer + ": no reply to '" + command
                + "' within " + timeout.toMillis() + " ms")), timeout);
        reply.whenComplete((r, e) -> timer.cancel(false));
        try {
            lines.writeLine(JSON.writeValueAsBytes(msg));
        } catch (IOException e) {
            fail(id, new QmpConnectionException(peer + ": cannot send '" + command + "': " + e.getMessage(), e));
        }
        return reply;
    }

    private void fail(String id, QmpException e) {
        Pending p = pending.remove(id);
        if (p != null) {
            p.reply().completeExceptionally(e);
        }
    }

    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new QmpException(e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new QmpException("interrupted while waiting for a QMP reply");
        }
    }

    // ---- events ------------------------------------------------------------------------------

    /** A new subscriber for the named events (all events when no name is given). */
    public EventSubscription subscribe(String... names) {
        EventSubscription[] self = new EventSubscription[1];
        self[0] = new EventSubscription(Set.copyOf(java.util.Arrays.asList(names)), options.subscriberQueue(), () -> subscribers.remove(self[0]));
        subscribers.add(self[0]);
        if (closedReason != null) {
            self[0].end(closedReason);
        }
        return self[0];
    }

    // ---- the reader --------------------------------------------------------------------------

    private void readLoop() {
        String reason;
        try {
            while (true) {
                byte[] line = lines.readLine();
                if (line == null) {
                    reason = peer + ": QMP connection closed by the peer";
                    break;
                }
                if (new String(line, StandardCharsets.UTF_8).isBlank()) {
                    continue;
                }
                JsonNode msg;
                try {
                    msg = JSON.readTree(line);
                } catch (IOException e) { // JacksonException, or CharConversionException for bytes in no encoding
                    reason = peer + ": the peer sent something that is not JSON, so the connection was closed: "
                            + excerpt(line);
                    break;
                }
                if (!(msg instanceof ObjectNode o)) {
                    reason = peer + ": the peer sent JSON that is not an object, so the connection was closed: "
                            + excerpt(line);
                    break;
                }
                dispatch(o);
            }
        } catch (LineChannel.LineTooLongException e) {
            reason = peer + ": " + e.getMessage() + ", so the connection was closed";
        } catch (IOException e) {
            reason = closedReason != null ? closedReason : peer + ": QMP connection lost: " + e.getMessage();
        }
        shutdown(reason);
    }

    private void dispatch(ObjectNode o) {
        if (o.has("QMP")) {
            greetingMessage.complete(o);
        } else if (o.has("event")) {
            JsonNode ts = o.get("timestamp");
            Timestamp when = ts == null ? null : new Timestamp(ts.path("seconds").asLong(), ts.path("microseconds").asLong());
            QmpEventMessage m = new QmpEventMessage(o.get("event").asText(), when, o.get("data"), o, options.eventTypes());
            for (EventSubscription s : subscribers) {
                if (s.wants(m.name())) {
                    s.offer(m);
                }
            }
        } else if (o.has("return") || o.has("error")) {
            JsonNode id = o.get("id");
            Pending p = id == null ? null : pending.remove(id.asText());
            if (p == null) {
                unmatched.incrementAndGet();
                log.warn("{}: reply matches no waiting command, ignored: {}", peer, excerpt(o.toString().getBytes(StandardCharsets.UTF_8)));
                return;
            }
            if (o.has("error")) {
                JsonNode err = o.get("error");
                p.reply().completeExceptionally(new QmpCommandException(peer, p.command(), p.arguments(),
                        err.path("class").asText("?"), err.path("desc").asText("(no description)")));
            } else {
                p.reply().complete(o.get("return"));
            }
        } else {
            log.warn("{}: unknown QMP message ignored: {}", peer, excerpt(o.toString().getBytes(StandardCharsets.UTF_8)));
        }
    }

    private static String excerpt(byte[] line) {
        String s = new String(line, 0, Math.min(line.length, 200), StandardCharsets.UTF_8);
        return line.length > 200 ? s + "…" : s;
    }

    private void shutdown(String reason) {
        if (closedReason == null) {
            closedReason = reason;
        }
        lines.close();
        greetingMessage.completeExceptionally(new QmpConnectionException(closedReason));
        for (String id : new ArrayList<>(pending.keySet())) {
            Pending p = pending.get(id);
            if (p != null) {
                fail(id, new QmpConnectionException(closedReason + " (while waiting for the reply to '" + p.command() + "')"));
            }
        }
        subscribers.forEach(s -> s.end(closedReason));
        if (!reason.equals(peer + ": closed by this client")) {
            log.debug("{}", reason);
        }
    }

    /** Closes the connection; pending calls fail, subscribers see the end. QEMU keeps running. */
    @Override
    public void close() {
        if (closedReason == null) {
            closedReason = peer + ": closed by this client";
        }
        lines.close();
        if (Thread.currentThread() != reader) {
            try {
                reader.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        shutdown(closedReason);
    }
}
