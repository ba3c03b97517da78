package ferry.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.cluster.ClusterStore;
import ferry.cluster.VmRecord;
import ferry.cluster.pki.CertificateAuthority;
import ferry.cluster.pki.ClusterPki;
import ferry.cluster.pki.Credential;
import ferry.cluster.pki.Identity;
import ferry.node.VmDefinition;
import ferry.testkit.Bootblock;
import ferry.testkit.BootblockGuest;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Real agents on loopback behind mutual TLS: who is let in at all (the handshake), and what a
 * node's certificate may call compared with the admin's (403).
 */
class AgentTlsTest {
    @TempDir
    static Path dir;
    static LocalCluster cluster;
    static String addressOfA;
    static ClusterPki pki;

    /** Everything the agents log, with Ferry's and Jetty's TLS debugging on: no key may show in it. */
    static final ListAppender<ILoggingEvent> LOG = new ListAppender<>();
    static final List<String> DEBUGGED = List.of("ferry", "org.eclipse.jetty.util.ssl");

    @BeforeAll
    static void agents() throws IOException {
        DEBUGGED.forEach(n -> ((Logger) LoggerFactory.getLogger(n)).setLevel(Level.DEBUG));
        Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
        LOG.start();
        root.addAppender(LOG);
        cluster = new LocalCluster(dir.resolve("c"), "a", "b");
        pki = cluster.layout.pki();
        try (ClusterStore s = cluster.layout.open()) {
            addressOfA = s.config().node("a").orElseThrow().agentAddress();
        }
    }

    @AfterAll
    static void stop() throws IOException {
        cluster.close();
        Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
        root.detachAppender(LOG);
        DEBUGGED.forEach(n -> ((Logger) LoggerFactory.getLogger(n)).setLevel(null));
        String keyBody = Files.readAllLines(pki.nodeFolder("a").resolve("key.pem")).get(1);
        List<String> lines = LOG.list.stream().map(e -> e.getFormattedMessage()
                + (e.getThrowableProxy() == null ? "" : " " + e.getThrowableProxy().getMessage())).toList();
        assertThat(lines).as("what the agents logged").hasSizeGreaterThan(10)
                .noneMatch(l -> l.contains("PRIVATE KEY") || l.contains(keyBody));
    }

    private static AgentClient as(Credential who) {
        return new AgentClient(addressOfA, AgentCredentials.of(who, pki.caCertificate()));
    }

    private static AgentClient asNode(String node) {
        return new AgentClient(addressOfA, AgentCredentials.node(cluster.layout.dir(), node));
    }

    private static AgentClient.AgentException refusal(Runnable call) {
        Throwable t = catchThrowable(call::run);
        assertThat(t).isInstanceOf(AgentClient.AgentException.class);
        return (AgentClient.AgentException) t;
    }

    /**
     * The port asks for a certificate but lets a browser without one through the handshake (the
     * web UI's login): every API route still answers it 401 with nothing but the reason, and the
     * certificate-holders' calls work as before.
     */
    @Test
    void aClientWithoutACertificateGetsTheLoginPageAndNoData() throws Exception {
        NoCertificateClient browser = new NoCertificateClient(addressOfA, pki);
        for (String path : List.of("/api/v1/vms", "/api/v1/node", "/api/v1/tasks", "/api/v1/storage", "/api/v1/cluster",
                "/api/v1/vms/100", "/api/v1/tasks/x/log", "/api/v1/tasks/x/events", "/metrics")) {
            HttpResponse<String> r = browser.get(path);
            assertThat(r.statusCode()).as(path).isEqualTo(401);
            assertThat(new ObjectMapper().readTree(r.body()).fieldNames()).as(path).toIterable().containsExactly("error");
        }
        for (String path : List.of("/api/v1/migrations", "/api/v1/vms/100/start", "/api/v1/incoming", "/api/v1/vms")) {
            HttpResponse<String> r = browser.post(path, "{\"vmid\": 100, \"target\": \"b\"}", "X-Ferry-UI", "1");
            assertThat(r.statusCode()).as(path).isEqualTo(401);
            assertThat(r.body()).as(path).contains("answers only clients with a certificate of this cluster, or a "
                    + "browser logged in at /ui");
        }
        // no spelling of an API path passes for one of the open ones
        for (String path : List.of("/ui/assets/../../api/v1/vms", "/ui/assets/%2e%2e/%2e%2e/api/v1/vms",
                "/ui/../api/v1/vms", "/ui/assets/..%2F..%2Fapi%2Fv1%2Fvms", "/ui/login/../../api/v1/node")) {
            HttpResponse<String> r = browser.get(path);
            assertThat(r.statusCode()).as(path).isIn(400, 401, 404);
            assertThat(r.body()).as(path).doesNotContain("\"vmid\"").doesNotContain("\"qemu\"");
        }
        HttpResponse<String> page = browser.get("/ui");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type").orElse("")).startsWith("text/html");
        assertThat(page.body()).contains("id=\"login\"");
        assertThat(browser.post("/ui/login", "{\"password\": \"guess\"}").statusCode()).isEqualTo(401);
        assertThat(cluster.client("a").get("/api/v1/node").path("node").asText()).isEqualTo("a");
    }

    /** A session from the UI's login carries the admin's rights; changes need the UI's header too. */
    @Test
    void aLoggedInBrowserIsTheAdminAndItsChangesNeedTheUiHeader() throws Exception {
        NoCertificateClient browser = new NoCertificateClient(addressOfA, pki);
        String password = ferry.cluster.pki.AccessTokens.in(cluster.layout.dir()).uiPassword().orElseThrow();
        HttpResponse<String> login = browser.post("/ui/login", "{\"password\": \"" + password + "\"}");
        assertThat(login.statusCode()).isEqualTo(200);
        String cookie = login.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(cookie).startsWith("ferry_session_a=").contains("HttpOnly").contains("Secure")
                .contains("SameSite=Strict");
        String session = cookie.substring(0, cookie.indexOf(';'));
        assertThat(browser.get("/api/v1/vms", "Cookie", session).statusCode()).isEqualTo(200);
        assertThat(browser.get("/api/v1/node", "Cookie", session).body()).contains("\"node\":\"a\"");
        HttpResponse<String> forged = browser.post("/api/v1/vms/100/start", "{}", "Cookie", session);
        assertThat(forged.statusCode()).as("a change without the UI's header (another site's form)").isEqualTo(403);
        assertThat(forged.body()).contains("X-Ferry-UI");
        assertThat(new NoCertificateClient(c2Address(), pki).get("/api/v1/vms", "Cookie", session).statusCode())
                .as("a session is one node's").isEqualTo(401);
        browser.post("/ui/logout", "{}", "Cookie", session);
        assertThat(browser.get("/api/v1/vms", "Cookie", session).statusCode()).as("after logout").isEqualTo(401);
    }

    private static String c2Address() {
        return cluster.address("b");
    }

    @Test
    void aCertificateOfAnotherCaIsRefused() {
        Credential stranger = CertificateAuthority.create("other").issue(Identity.admin(), List.of(), Duration.ofDays(1));

        AgentClient.AgentException e = refusal(() -> as(stranger).get("/api/v1/vms"));

        // the client does not send a certificate of a CA the agent did not ask for: it gets in as no one, 401
        assertThat(e.status()).isEqualTo(401);
        assertThat(e).hasMessageContaining("refused our certificate (the admin");
    }

    @Test
    void anExpiredCertificateIsRefused() {
        Instant now = Instant.now();
        Credential expired = pki.authority().issue(Identity.admin(), List.of(), now.minus(Duration.ofDays(30)),
                now.minus(Duration.ofDays(1)));

        AgentClient.AgentException e = refusal(() -> as(expired).get("/api/v1/vms"));

        assertThat(e.status()).isZero();
        assertThat(e).hasMessageContaining("refused our certificate").hasMessageContaining("rotate-certs");
    }

    @Test
    void plainHttpIsRefused() {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

        Throwable t = catchThrowable(() -> http.send(HttpRequest.newBuilder(URI.create("http://" + addressOfA
                + "/api/v1/vms")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()));

        if (t == null) {
            throw new AssertionError("plain HTTP got an answer from the agent");
        }
        assertThat(t).isInstanceOf(IOException.class);
    }

    @Test
    void aClientThatTakesAnAgentOfAnotherClusterForItsOwnIsWarned() {
        Credential stranger = CertificateAuthority.create("other").issue(Identity.admin(), List.of(), Duration.ofDays(1));
        // trusts only the other CA: the agent's certificate does not verify
        AgentClient c = new AgentClient(addressOfA, AgentCredentials.of(stranger,
                CertificateAuthority.create("other2").certificate()));

        assertThat(refusal(() -> c.get("/api/v1/node"))).hasMessageContaining("not of this cluster's CA");
    }

    @Test
    void aServerThatSpeaksPlainHttpIsNamedAsSuch() throws Exception {
        // what an HTTP server (an agent of a Ferry before TLS) answers to a TLS hello: a 400 in clear text
        try (java.net.ServerSocket plain = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            Thread server = Thread.ofVirtual().start(() -> {
                try (java.net.Socket s = plain.accept()) {
                    s.getInputStream().read(new byte[512]);
                    s.getOutputStream().write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                } catch (IOException ignored) {
                    // the client hung up first
                }
            });
            AgentClient c = new AgentClient("127.0.0.1:" + plain.getLocalPort(), AgentCredentials.admin(cluster.layout.dir()));
            assertThat(refusal(() -> c.get("/api/v1/node"))).hasMessageContaining("does not speak HTTPS");
            server.join(5000);
        }
    }

    @Test
    void anAgentWithAnExpiredCertificateDoesNotStartAndSaysHowToRenewIt() throws Exception {
        ClusterLayout other = ClusterLayout.createOnFreePorts(dir.resolve("expired"), "test", List.of("a"));
        Instant now = Instant.now();
        Credential old = other.pki().authority().issue(Identity.node("a"), List.of("127.0.0.1"),
                now.minus(Duration.ofDays(30)), now.minus(Duration.ofDays(1)));
        Files.writeString(other.pki().nodeFolder("a").resolve("key.pem"), ferry.cluster.pki.Pem.of(old.key()));
        Files.writeString(other.pki().nodeFolder("a").resolve("cert.pem"), ferry.cluster.pki.Pem.of(old.certificate()));

        Throwable t = catchThrowable(() -> Agent.start(other.dir(), "a").close());

        assertThat(t).hasMessageContaining("certificate of node 'a' expired")
                .hasMessageContaining("ferry cluster rotate-certs --node a");
    }

    @Test
    void anAgentWhoseCertificateDoesNotNameItsAddressIsRefusedByItsClients() throws Exception {
        ClusterLayout other = ClusterLayout.createOnFreePorts(dir.resolve("wrong-address"), "test", List.of("a"));
        Credential elsewhere = other.pki().authority().issue(Identity.node("a"), List.of("127.0.0.2"), Duration.ofDays(1));
        Files.writeString(other.pki().nodeFolder("a").resolve("key.pem"), ferry.cluster.pki.Pem.of(elsewhere.key()));
        Files.writeString(other.pki().nodeFolder("a").resolve("cert.pem"),
                ferry.cluster.pki.Pem.of(elsewhere.certificate()));

        try (Agent a = Agent.start(other.dir(), "a")) {
            assertThat(refusal(() -> other.adminClient("a").get("/api/v1/node")))
                    .hasMessageContaining("not valid for that address").hasMessageContaining("rotate-certs --node");
        }
    }

    @Test
    void aRenewedCertificateIsServedWithoutARestart() throws Exception {
        java.math.BigInteger before = servedSerial();
        ferry.cluster.NodeInfo a;
        try (ClusterStore s = cluster.layout.open()) {
            a = s.config().node("a").orElseThrow();
        }
        Credential renewed = pki.issueNode(pki.authority(), a, Duration.ofDays(10));
        assertThat(renewed.certificate().getSerialNumber()).isNotEqualTo(before);

        long deadline = System.nanoTime() + NodeCertificate.EVERY.multipliedBy(6).toNanos();
        while (!servedSerial().equals(renewed.certificate().getSerialNumber()) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        assertThat(servedSerial()).isEqualTo(renewed.certificate().getSerialNumber());
        assertThat(cluster.client("a").get("/api/v1/node").path("node").asText()).isEqualTo("a");
    }

    /** The serial number of the certificate agent a presents to a new connection. */
    private static java.math.BigInteger servedSerial() throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .sslContext(AgentCredentials.admin(cluster.layout.dir()).tls()).build();
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("https://" + addressOfA + "/api/v1/node"))
                .build(), HttpResponse.BodyHandlers.ofString());
        return ((java.security.cert.X509Certificate) r.sslSession().orElseThrow().getPeerCertificates()[0])
                .getSerialNumber();
    }

    @Test
    void aNodeCertificateCannotStartStopOrMigrateVmsButTheAdminCan() throws Exception {
        AgentClient admin = cluster.client("a");
        defineOnA(admin, 120);
        AgentClient b = asNode("b");

        AgentClient.AgentException start = refusal(() -> b.post("/api/v1/vms/120/start", null));
        assertThat(start.status()).isEqualTo(403);
        assertThat(start).hasMessageContaining("node 'a' refuses POST /api/v1/vms/{vmid}/start")
                .hasMessageContaining("node 'b' (CN=b)").hasMessageContaining("admin's certificate");
        assertThat(admin.get("/api/v1/vms/120").path("status").asText()).isEqualTo("stopped");

        assertThat(admin.post("/api/v1/vms/120/start", null).path("status").asText()).isEqualTo("running");
        assertThat(refusal(() -> b.post("/api/v1/vms/120/stop", null)).status()).isEqualTo(403);
        assertThat(refusal(() -> b.migrate(new ObjectMapper().createObjectNode().put("vmid", 120).put("target", "b")))
                .status()).isEqualTo(403);
        // the target side's stop is a node's call, but only during a migration of the VM it takes part in
        AgentClient.AgentException stopIncoming = refusal(() -> b.post("/api/v1/incoming/120/stop", null));
        assertThat(stopIncoming.status()).isEqualTo(403);
        assertThat(stopIncoming).hasMessageContaining("VM 120 is not being migrated");
        assertThat(refusal(() -> b.get("/api/v1/vms")).status()).isEqualTo(403);
        assertThat(admin.get("/api/v1/vms/120").path("status").asText()).isEqualTo("running");

        assertThat(admin.post("/api/v1/vms/120/stop", null).path("status").asText()).isEqualTo("stopped");
    }

    @Test
    void aNodeCertificateMayCallTheTargetSideDuringAMigrationItTakesPartIn() throws Exception {
        AgentClient admin = cluster.client("b");
        Path shared = cluster.layout.storages("b").get("shared").path();
        Files.writeString(shared.resolve("vm-130-disk-0.raw"), "x");
        admin.post("/api/v1/vms", new VmDefinition(130, "on-b", 64, 1, null, null, null,
                List.of(new VmDefinition.Disk("shared", "vm-130-disk-0.raw", "raw", "ide")), null, null));
        AgentClient b = asNode("b");
        VmDefinition.Disk disk = new VmDefinition.Disk("local", "vm-130-disk-1.raw", "raw", "scsi");
        Path onA = cluster.layout.storages("a").get("local").path().resolve("vm-130-disk-1.raw");

        assertThat(b.probe().node()).isEqualTo("a");
        assertThat(b.storages()).containsKey("local");
        assertThat(b.state(130).exists()).isFalse();
        AgentClient.AgentException early = refusal(() -> b.createVolume(disk, 1 << 20));
        assertThat(early.status()).isEqualTo(403);
        assertThat(onA).doesNotExist();

        try (ClusterStore s = cluster.layout.open()) {
            s.lock(130, "b", "migrate", new VmRecord.LockHolder("b-test-1", "b"));
        }
        b.createVolume(disk, 1 << 20);
        assertThat(onA).exists();
        // a node that takes no part in the migration is refused all the same
        assertThat(refusal(() -> asNode("a").createVolume(disk, 1 << 20)).status()).isEqualTo(403);
        AgentClient.AgentException otherSource = refusal(() -> b.post("/api/v1/incoming", new ObjectMapper()
                .createObjectNode().put("source", "a").set("vm", new ObjectMapper().createObjectNode().put("vmid", 130))));
        assertThat(otherSource.status()).isEqualTo(403);
        assertThat(otherSource).hasMessageContaining("whose source it is");
        assertThat(b.freeVolumes(List.of(disk))).isEmpty();
        assertThat(onA).doesNotExist();

        try (ClusterStore s = cluster.layout.open()) {
            s.unlock(130, "b", "migrate");
        }
    }

    private static void defineOnA(AgentClient admin, int vmid) throws Exception {
        BootblockGuest guest = new BootblockGuest(64, 1024 * 1024 + (4L << 20), 100_000);
        Path shared = cluster.layout.storages("a").get("shared").path();
        String volume = "vm-" + vmid + "-disk-0.raw";
        Files.copy(Bootblock.image(BootblockGuest.cacheDir(), guest.regionEnd(), guest.delay()), shared.resolve(volume));
        JsonNode created = admin.post("/api/v1/vms", new VmDefinition(vmid, "tls", guest.memoryMiB(), 1, null, null, null,
                List.of(new VmDefinition.Disk("shared", volume, "raw", "ide")), null, null));
        assertThat(created.path("owner").asText()).isEqualTo("a");
    }
}
