package ferry.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback TCP relay standing in for the network link between two nodes. Tests point one node
 * at {@link #host()}:{@link #port()} instead of at the other node, so that {@link #cut()} can break
 * the link for real in the middle of a stream (both ends see a reset, not a polite EOF) and
 * {@link #restore()} can bring it back, without root, network namespaces or iptables.
 *
 * <p>Every accepted connection gets its own connection to the target and two pump threads, one per
 * direction. All methods are thread safe; {@link #cut()} may race with running pumps.
 */
public final class LinkRelay implements AutoCloseable {
    /** Large enough that a migration stream is not throttled by the relay itself. */
    private static final int BUFFER_BYTES = 256 * 1024;
    /** A target that does not answer within this long counts as a broken link. */
    private static final int CONNECT_TIMEOUT_MS = 10_000;
    /** Bound on how long cut() and close() wait for the sockets they closed to be really gone. */
    private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(5);
    private static final String LOOPBACK = "127.0.0.1";

    private final ServerSocket listener;
    private final String targetHost;
    private final int targetPort;
    private final Set<Link> links = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionsSeen = new AtomicInteger();
    private final AtomicLong bytesRelayed = new AtomicLong();
    /** Guards {@link #cut} and {@link #closed} together with admission into {@link #links}. */
    private final Object state = new Object();
    private volatile boolean cut;
    private volatile boolean closed;
    private volatile Thread acceptor;

    private LinkRelay(ServerSocket listener, String targetHost, int targetPort) {
        this.listener = listener;
        this.targetHost = targetHost;
        this.targetPort = targetPort;
    }

    /**
     * Starts relaying from a fresh port on 127.0.0.1, picked by the OS so that parallel tests never
     * collide, to {@code targetHost:targetPort}. The link starts out intact.
     */
    public static LinkRelay start(String targetHost, int targetPort) throws IOException {
        if (targetPort < 1 || targetPort > 65535) {
            throw new IllegalArgumentException("target port out of range: " + targetPort);
        }
        ServerSocket listener = new ServerSocket();
        try {
            listener.bind(new InetSocketAddress(loopback(), 0), 64);
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
        LinkRelay relay = new LinkRelay(listener, targetHost, targetPort);
        relay.acceptor = Thread.ofVirtual().name("link-relay-accept-" + listener.getLocalPort())
                .start(relay::acceptLoop);
        return relay;
    }

    /** The address nodes should dial instead of the target: always {@code "127.0.0.1"}. */
    public String host() {
        return LOOPBACK;
    }

    /** The port the relay listens on; it stays reserved until {@link #close()}, even while cut. */
    public int port() {
        return listener.getLocalPort();
    }

    /**
     * Breaks the link: every relayed connection is reset on both sides, and until {@link #restore()}
     * new connections are accepted and reset at once, without ever reaching the target. We keep
     * accepting rather than stop listening so the port cannot be taken by someone else meanwhile.
     * Calling it again while cut does nothing.
     *
     * <p>Returns once the relay threads of the broken connections have ended, which is when the
     * JDK really releases sockets that a blocked thread was using, so the resets are on the wire.
     */
    public void cut() {
        List<Link> victims;
        synchronized (state) {
            cut = true;
            victims = List.copyOf(links);
        }
        tearDown(victims);
    }

    /** Mends the link: connections accepted from now on are relayed again. Broken ones stay broken. */
    public void restore() {
        synchronized (state) {
            cut = false;
        }
    }

    /** Whether the link is currently cut. */
    public boolean isCut() {
        return cut;
    }

    /** How many connections the relay has accepted so far, including those refused while cut. */
    public int connectionsSeen() {
        return connectionsSeen.get();
    }

    /** How many connections are being relayed right now. */
    public int openConnections() {
        return links.size();
    }

    /** Bytes delivered so far, summed over both directions of all connections. */
    public long bytesRelayed() {
        return bytesRelayed.get();
    }

    /**
     * Stops listening and resets every open connection. Idempotent. Like {@link #cut()} it waits
     * for the relay threads, so once it returns the port is free: a socket closed under a blocked
     * virtual thread is only released when that thread wakes up, and until then the kernel would
     * still complete handshakes on the port.
     */
    @Override
    public void close() {
        List<Link> victims;
        synchronized (state) {
            if (closed) {
                return;
            }
            closed = true;
            victims = List.copyOf(links);
        }
        quietClose(listener);
        long deadline = System.nanoTime() + SETTLE_TIMEOUT.toNanos();
        tearDown(victims);
        awaitEnd(acceptor, deadline);
    }

    private void tearDown(List<Link> victims) {
        long deadline = System.nanoTime() + SETTLE_TIMEOUT.toNanos();
        victims.forEach(Link::abort);
        for (Link link : victims) {
            for (Thread t : link.threads()) {
                awaitEnd(t, deadline);
            }
        }
    }

    /** Waits for {@code t} until the deadline; gives up quietly, keeping the interrupt, if interrupted. */
    private static void awaitEnd(Thread t, long deadlineNanos) {
        long left = deadlineNanos - System.nanoTime();
        if (t == null || t == Thread.currentThread() || left <= 0 || Thread.currentThread().isInterrupted()) {
            return;
        }
        try {
            t.join(Duration.ofNanos(left));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "LinkRelay[" + LOOPBACK + ":" + port() + " -> " + targetHost + ":" + targetPort
                + (closed ? ", closed" : cut ? ", cut" : "") + "]";
    }

    private void acceptLoop() {
        while (true) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (closed || listener.isClosed()) {
                    return;
                }
                continue; // e.g. the peer gave up before we accepted; keep serving
            }
            connectionsSeen.incrementAndGet();
            Link link = new Link(client);
            boolean admitted;
            synchronized (state) {
                admitted = !cut && !closed;
                if (admitted) {
                    links.add(link);
                }
            }
            if (!admitted) {
                reset(client);
                continue;
            }
            link.spawn("link-relay-" + port() + "-down", () -> connect(link));
        }
    }

    /** Dials the target for one accepted connection, then pumps target-to-client on this thread. */
    private void connect(Link link) {
        try {
            link.client.setTcpNoDelay(true);
            link.upstream.setTcpNoDelay(true);
            link.upstream.connect(new InetSocketAddress(targetHost, targetPort), CONNECT_TIMEOUT_MS);
        } catch (IOException e) {
            link.abort(); // an unreachable target looks like a broken link to the client
            return;
        }
        if (link.spawn("link-relay-" + port() + "-up", () -> pump(link, link.client, link.upstream))) {
            pump(link, link.upstream, link.client);
        }
    }

    /**
     * Copies {@code from} to {@code to} until EOF, then half-closes {@code to} so the peer sees the
     * same EOF while the other direction keeps flowing. Any I/O error, including the one caused by
     * {@link #cut()} closing the sockets under us, resets the whole connection silently.
     */
    private void pump(Link link, Socket from, Socket to) {
        byte[] buf = new byte[BUFFER_BYTES];
        try {
            InputStream in = from.getInputStream();
            OutputStream out = to.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
                out.flush();
                bytesRelayed.addAndGet(n);
            }
            to.shutdownOutput();
        } catch (IOException e) {
            link.abort();
            return;
        }
        link.directionDone();
    }

    /**
     * One relayed connection: the accepted client socket, the socket to the target (created up
     * front so that a cut can also abort a dial in progress) and the threads serving them.
     */
    private final class Link {
        final Socket client;
        final Socket upstream = new Socket();
        private final AtomicInteger directionsLeft = new AtomicInteger(2);
        private final List<Thread> threads = new ArrayList<>(2); // guarded by this
        private boolean finished; // guarded by this

        Link(Socket client) {
            this.client = client;
        }

        /** Starts a thread serving this link, unless the link is already torn down. */
        boolean spawn(String name, Runnable task) {
            Thread t = Thread.ofVirtual().name(name).unstarted(task);
            synchronized (this) {
                if (finished) {
                    return false;
                }
                threads.add(t);
                t.start(); // under the lock, so a teardown never misses a thread it should wait for
            }
            return true;
        }

        synchronized List<Thread> threads() {
            return List.copyOf(threads);
        }

        /** Tears the connection down with RSTs so both ends notice a broken link, not a clean close. */
        void abort() {
            if (finish()) {
                reset(client);
                reset(upstream);
            }
        }

        /** Both directions reached EOF: the conversation ended normally, so close normally. */
        void directionDone() {
            if (directionsLeft.decrementAndGet() == 0 && finish()) {
                quietClose(client);
                quietClose(upstream);
            }
        }

        private boolean finish() {
            synchronized (this) {
                if (finished) {
                    return false;
                }
                finished = true;
            }
            links.remove(this);
            return true;
        }
    }

    /** Closes with SO_LINGER 0, so the kernel sends RST instead of FIN and drops unsent data. */
    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0);
        } catch (IOException e) {
            // already closed: nothing left to reset
        }
        quietClose(s);
    }

    private static void quietClose(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            // closing is best effort; the socket is unusable either way
        }
    }

    private static InetAddress loopback() {
        try {
            return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
        } catch (UnknownHostException e) {
            throw new AssertionError("a literal address needs no lookup", e);
        }
    }
}
