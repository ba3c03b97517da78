package ferry.testkit.etcd;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real one-member etcd (Debian's {@code etcd-server}) for tests, the demo and the drill: its
 * own data folder, client and peer ports on one address, output in {@code etcd.log} beside the
 * data. It can be killed with -9 and started again on the same data and ports, as an operator's
 * etcd restarts. With {@link Tls} it serves clients over TLS only and lets in only clients with a
 * certificate of the given CA ({@code --client-cert-auth}), as an operator's etcd for an
 * {@code etcds://} store is set up.
 */
public final class EtcdServer implements AutoCloseable {
    private static final Duration READY = Duration.ofSeconds(30);

    private final Path dataDir;
    private final List<String> prefix;
    private final String host;
    private final int clientPort;
    private final int peerPort;
    private final Tls tls;
    private Process process;

    /**
     * The files of a TLS etcd: its server certificate and key, the CA whose certificates clients
     * must present, and a client certificate and key of that CA for the health check (etcd asks
     * every client, the health check too, for a certificate).
     */
    public record Tls(Path cert, Path key, Path trustedCa, Path clientCert, Path clientKey) {}

    private EtcdServer(Path dataDir, List<String> prefix, String host, int clientPort, int peerPort, Tls tls) {
        this.tls = tls;
        this.dataDir = dataDir;
        this.prefix = List.copyOf(prefix);
        this.host = host;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
    }

    /** Why etcd cannot run here, or null when it can. */
    public static String unavailableReason() {
        return binary() == null ? "etcd is not installed: install Debian's etcd-server package (scripts/install-deps does)"
                : null;
    }

    private static Path binary() {
        for (String dir : List.of("/usr/bin", "/usr/local/bin", "/usr/sbin")) {
            Path p = Path.of(dir, "etcd");
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Starts etcd on two free loopback ports, its data in {@code dataDir}. */
    public static EtcdServer startOnLoopback(Path dataDir) throws IOException, InterruptedException {
        int[] ports = freePorts(2);
        return start(dataDir, List.of(), "127.0.0.1", ports[0], ports[1]);
    }

    /** The same over TLS with client certificates ({@code etcds://}). */
    public static EtcdServer startOnLoopback(Path dataDir, Tls tls) throws IOException, InterruptedException {
        int[] ports = freePorts(2);
        return start(dataDir, List.of(), "127.0.0.1", ports[0], ports[1], tls);
    }

    /**
     * Starts etcd listening on {@code host}; {@code prefix} runs it elsewhere (e.g. {@code ip netns
     * exec NS}); returns once it answers its health check.
     */
    public static EtcdServer start(Path dataDir, List<String> prefix, String host, int clientPort, int peerPort)
            throws IOException, InterruptedException {
        return start(dataDir, prefix, host, clientPort, peerPort, null);
    }

    /** The same; over TLS with client certificates when {@code tls} is not null. */
    public static EtcdServer start(Path dataDir, List<String> prefix, String host, int clientPort, int peerPort, Tls tls)
            throws IOException, InterruptedException {
        EtcdServer s = new EtcdServer(dataDir, prefix, host, clientPort, peerPort, tls);
        s.launch();
        return s;
    }

    private void launch() throws IOException, InterruptedException {
        Path etcd = binary();
        if (etcd == null) {
            throw new IllegalStateException(unavailableReason());
        }
        Files.createDirectories(dataDir);
        String client = (tls == null ? "http://" : "https://") + host + ":" + clientPort;
        String peer = "http://" + host + ":" + peerPort;
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(etcd.toString(), "--name", "ferry", "--data-dir", dataDir.resolve("data").toString(),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", "ferry=" + peer, "--logger", "zap", "--log-level", "warn"));
        if (tls != null) {
            // the peer port stays plain: a one-member etcd has no peers, and it listens on the same host only
            cmd.addAll(List.of("--cert-file", tls.cert().toString(), "--key-file", tls.key().toString(),
                    "--trusted-ca-file", tls.trustedCa().toString(), "--client-cert-auth"));
        }
        process = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log().toFile())).start();
        awaitHealthy();
    }

    private void awaitHealthy() throws InterruptedException {
        HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1));
        HttpClient http = (tls == null ? b : b.sslContext(EtcdClientSsl.context(tls))).build();
        long deadline = System.nanoTime() + READY.toNanos();
        while (true) {
            if (!process.isAlive()) {
                throw new IllegalStateException("etcd exited with " + process.exitValue() + " while starting; see " + log());
            }
            if (prefix.isEmpty() && healthy(http)) {
                return;
            }
            if (!prefix.isEmpty() && listening()) {
                return; // in another network namespace: this JVM cannot reach it, the port file tells
            }
            if (System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IllegalStateException("etcd did not become healthy within " + READY.toSeconds() + " s; see "
                        + log());
            }
            Thread.sleep(100);
        }
    }

    private boolean healthy(HttpClient http) throws InterruptedException {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create((tls == null ? "http://" : "https://")
                    + host + ":" + clientPort
                    + "/health")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && r.body().contains("true");
        } catch (IOException e) {
            return false;
        }
    }

    /** Whether etcd says in its log that it serves clients (used when it runs in another namespace). */
    private boolean listening() {
        try {
            return Files.readString(log()).contains("serving client traffic");
        } catch (IOException e) {
            return false;
        }
    }

    /** The address for {@code --store}: etcd://host:port, or etcds://host:port over TLS. */
    public String storeAddress() {
        return (tls == null ? "etcd://" : "etcds://") + host + ":" + clientPort;
    }

    public boolean tls() {
        return tls != null;
    }

    public Path log() {
        return dataDir.resolve("etcd.log");
    }

    public boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** kill -9, as a crash of etcd's host. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** Starts it again on the same data and ports, after {@link #kill()}. */
    public void restart() throws IOException, InterruptedException {
        if (isAlive()) {
            throw new IllegalStateException("etcd still runs; kill it first");
        }
        launch();
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }

    private static int[] freePorts(int n) throws IOException {
        int[] ports = new int[n];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return ports;
    }
}
