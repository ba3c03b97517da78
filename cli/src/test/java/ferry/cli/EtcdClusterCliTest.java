package ferry.cli;

import static ferry.cli.FerryCli.ferry;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.ClusterLayout;
import ferry.cluster.pki.ClusterPki;
import ferry.testkit.etcd.EtcdServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster whose records live in a real etcd over mutual TLS, through the CLI, as the README
 * tells an operator: {@code cluster create --store etcds://…} makes the certificates and, while
 * etcd does not serve with its certificate yet, stops with the flags to give it; run again
 * against etcd so started, it keeps them. An agent on a "host" that has only its own certificate
 * reaches etcd. Then agents as processes with a 3 s lease, a live
 * migration, and {@code cluster status} (the CLI, as the admin) seeing a killed agent's node go
 * down and come back.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class EtcdClusterCliTest {
    private static final List<String> AGENT_JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx192m",
            "-Dferry.leaseTtl=3");

    @TempDir
    static Path tmp;

    private EtcdServer etcd;
    private Path dir;
    private ClusterLayout layout;
    private final Map<String, AgentProcess> agents = new LinkedHashMap<>();

    @BeforeAll
    void createClusterOnEtcdAndStartAgents() throws Exception {
        String why = EtcdServer.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "etcd unavailable: " + why);
        dir = tmp.resolve("c");
        int port = FerryCli.twoFreePorts();
        // first try: the etcd there does not serve with the cluster's certificate yet (here: no TLS at all)
        try (EtcdServer notYet = EtcdServer.startOnLoopback(tmp.resolve("etcd-plain"))) {
            String address = notYet.storeAddress().replace("etcd://", "etcds://");
            FerryCli.Run first = ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port",
                    Integer.toString(port), "--store", address, "--name", "onetcd");
            assertThat(first.code()).as(first.both()).isNotZero();
            assertThat(first.err()).contains("does not speak TLS").contains("the certificates are ready in")
                    .contains("--cert-file " + dir.toAbsolutePath().resolve("pki/etcd/cert.pem"))
                    .contains("--trusted-ca-file " + dir.toAbsolutePath().resolve("pki/ca-cert.pem"))
                    .contains("--client-cert-auth").contains("run this command again");
        }
        assertThat(dir.resolve("store.json")).doesNotExist();
        byte[] ca = Files.readAllBytes(dir.resolve("pki/ca-cert.pem"));
        etcd = EtcdServer.startOnLoopback(tmp.resolve("etcd"), ClusterEtcd.files(ClusterPki.in(dir)));
        FerryCli.Run r = ferry("cluster", "create", dir.toString(), "--nodes", "a,b", "--port", Integer.toString(port),
                "--store", etcd.storeAddress(), "--name", "onetcd");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(etcd.storeAddress()).startsWith("etcds://");
        assertThat(r.out()).contains("records: etcd " + etcd.storeAddress());
        assertThat(r.err()).doesNotContain("without TLS");
        assertThat(Files.readAllBytes(dir.resolve("pki/ca-cert.pem"))).as("the CA of the first try is kept").isEqualTo(ca);
        assertThat(dir.resolve("store.json")).exists();
        assertThat(dir.resolve("cluster.json")).as("the records are in etcd, not in the folder").doesNotExist();
        layout = new ClusterLayout(dir);
        anAgentWithOnlyItsOwnCertificateReachesEtcd();
        for (String n : List.of("a", "b")) {
            agents.put(n, AgentProcess.start(layout, n, AGENT_JVM, Duration.ofSeconds(60)));
        }
    }

    /** Node a's agent run from a copy of the folder holding only what a node's host gets; stopped once it is in. */
    private void anAgentWithOnlyItsOwnCertificateReachesEtcd() throws Exception {
        // what the README says a node's host needs: the folder's pointer and storages, the CA, its own pki/nodes/a/
        Path host = tmp.resolve("host-a");
        Files.createDirectories(host.resolve("pki/nodes"));
        for (String f : List.of("store.json", "storage.json", "pki/ca-cert.pem")) {
            Files.copy(dir.resolve(f), host.resolve(f));
        }
        Files.createDirectories(host.resolve("pki/nodes/a"));
        for (String f : List.of("cert.pem", "key.pem")) {
            Files.copy(dir.resolve("pki/nodes/a").resolve(f), host.resolve("pki/nodes/a").resolve(f));
        }
        List<String> cmd = new java.util.ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java")));
        cmd.addAll(AGENT_JVM);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "agent", "--node", "a",
                "--cluster", host.toString()));
        Path log = tmp.resolve("agent-a-alone.log");
        Process agentA = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long start = System.nanoTime();
            // its liveness claim in etcd is the proof that it got in with node a's certificate
            while (!ferry(dir, "cluster", "status", "--json").json().path("nodes").get(0).path("alive").asBoolean()) {
                assertThat(agentA.isAlive()).as(() -> "agent a exited: " + read(log)).isTrue();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).as(() -> read(log))
                        .isLessThan(Duration.ofSeconds(60));
                Thread.sleep(300);
            }
            assertThat(host.resolve("pki/admin")).doesNotExist();
        } finally {
            agentA.destroy();
            agentA.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    private static String read(Path log) {
        try {
            return Files.readString(log);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    @AfterAll
    void stopEverything() throws Exception {
        for (AgentProcess p : agents.values()) {
            if (!p.stop(Duration.ofSeconds(30))) {
                p.kill();
            }
        }
        FerryCli.qemusUnder(tmp).forEach(ProcessHandle::destroyForcibly);
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void aLiveMigrationOnTheEtcdStoreAndNodeLivenessInClusterStatus() throws Exception {
        Path def = FerryCli.bootblockVm(dir, tmp, 100, 16, 100_000);
        FerryCli.Run created = ferry(dir, "vm", "create", "--node", "a", def.toString());
        assertThat(created.code()).as(created.both()).isZero();
        FerryCli.Run started = ferry(dir, "vm", "start", "100");
        assertThat(started.code()).as(started.both()).isZero();
        FerryCli.Run m = ferry(dir, "migrate", "100", "b", "--online", "--json");
        assertThat(m.code()).as(m.both()).isZero();
        assertThat(m.json().path("status").asText()).isEqualTo("completed");
        JsonNode vm = ferry(dir, "vm", "status", "100", "--json").json();
        assertThat(vm.path("owner").asText()).isEqualTo("b");
        assertThat(vm.has("lock")).as(vm.toString()).isFalse();

        JsonNode status = statusJson(0);
        assertThat(status.path("store").asText()).isEqualTo("etcd " + etcd.storeAddress());
        assertThat(status.path("store_tls").asBoolean()).isTrue();
        assertThat(status.has("store_warning")).isFalse();
        assertThat(status.path("certificates").toString()).contains("etcd server");
        assertThat(status.path("nodes")).allSatisfy(n -> assertThat(n.path("alive").asBoolean()).isTrue());

        agents.remove("b").kill(); // kill -9: nobody gives its lease up
        long killed = System.nanoTime();
        JsonNode down;
        do {
            Thread.sleep(200);
            down = statusJson(1);
            assertThat(Duration.ofNanos(System.nanoTime() - killed)).as("b's lease lapses").isLessThan(Duration.ofSeconds(30));
        } while (down.path("nodes").get(1).path("alive").asBoolean());
        assertThat(down.path("nodes").get(1).path("answers").asBoolean()).isFalse();
        FerryCli.Run text = ferry(dir, "cluster", "status");
        assertThat(text.code()).isEqualTo(Main.FAILED);
        assertThat(text.out()).containsPattern("node b .*DOWN .*LAPSED");

        agents.put("b", AgentProcess.start(layout, "b", AGENT_JVM, Duration.ofSeconds(60)));
        assertThat(statusJson(0).path("nodes").get(1).path("alive").asBoolean()).isTrue();
        assertThat(ferry(dir, "vm", "stop", "100").code()).isZero();
    }

    @Test
    void aBadStoreOrAddressIsRefusedAndCreatesNothing() throws Exception {
        Path other = tmp.resolve("other");
        FerryCli.Run r = ferry("cluster", "create", other.toString(), "--nodes", "a,b", "--store", "zookeeper://x:1");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("etcd://HOST:PORT");
        r = ferry("cluster", "create", other.toString(), "--nodes", "a,b", "--address", "c=10.0.0.3");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("node 'c'");
        assertThat(Files.exists(other)).isFalse();
        // a folder with a CA of its own: its admin does not trust etcd, whose certificate the first cluster's CA signed
        r = ferry("cluster", "create", other.toString(), "--nodes", "a,b", "--store", etcd.storeAddress(), "--name", "onetcd");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.FAILED);
        assertThat(r.err()).contains("presents a certificate this client does not trust").contains("--trusted-ca-file");
        assertThat(other.resolve("store.json")).doesNotExist();
        // with the same CA (a copy of the folder's pki/) it gets in, and etcd's cluster of that name is kept
        Path copy = tmp.resolve("copy");
        Files.createDirectories(copy);
        try (var files = Files.walk(dir.resolve("pki"))) {
            for (Path p : files.toList()) {
                Path t = copy.resolve(dir.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
        r = ferry("cluster", "create", copy.toString(), "--nodes", "a,b", "--store", etcd.storeAddress(), "--name", "onetcd");
        assertThat(r.code()).as(r.both()).isEqualTo(Main.USAGE);
        assertThat(r.err()).contains("already holds a cluster named 'onetcd'");
        assertThat(copy.resolve("store.json")).doesNotExist();
    }

    @Test
    void rotateCertsEtcdRenewsTheCertificateEtcdServesWithoutARestart() throws Exception {
        java.security.cert.X509Certificate before = served();
        FerryCli.Run r = ferry(dir, "cluster", "rotate-certs", "--etcd");
        assertThat(r.code()).as(r.both()).isZero();
        assertThat(r.out()).contains("etcd: new server certificate for 127.0.0.1").doesNotContain("node a:");
        java.security.cert.X509Certificate renewed = ferry.cluster.pki.Pem.readCertificate(
                dir.resolve("pki/etcd/cert.pem"));
        assertThat(renewed.getSerialNumber()).isNotEqualTo(before.getSerialNumber());
        // etcd, still the same process, hands the new certificate to the next client
        assertThat(served().getSerialNumber()).isEqualTo(renewed.getSerialNumber());
        assertThat(etcd.isAlive()).isTrue();
        assertThat(statusJson(0).path("store_tls").asBoolean()).isTrue();
    }

    /** The certificate etcd presents to a new connection (read with the admin's credentials). */
    private java.security.cert.X509Certificate served() throws Exception {
        ferry.cluster.pki.ClusterPki pki = ClusterPki.in(dir);
        java.security.KeyStore trust = java.security.KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        trust.setCertificateEntry("ca", pki.caCertificate());
        java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("admin", pki.admin().key(), new char[0], new java.security.cert.Certificate[] {
                pki.admin().certificate()});
        javax.net.ssl.TrustManagerFactory tm = javax.net.ssl.TrustManagerFactory.getInstance("PKIX");
        tm.init(trust);
        javax.net.ssl.KeyManagerFactory km = javax.net.ssl.KeyManagerFactory.getInstance("SunX509");
        km.init(keys, new char[0]);
        javax.net.ssl.SSLContext ssl = javax.net.ssl.SSLContext.getInstance("TLS");
        ssl.init(km.getKeyManagers(), tm.getTrustManagers(), null);
        java.net.URI u = java.net.URI.create(etcd.storeAddress().replace("etcds://", "https://"));
        try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ssl.getSocketFactory().createSocket(u.getHost(),
                u.getPort())) {
            s.startHandshake();
            return (java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    private JsonNode statusJson(int expectedCode) {
        FerryCli.Run r = ferry(dir, "cluster", "status", "--json");
        assertThat(r.code()).as(r.both()).isEqualTo(expectedCode);
        return r.json();
    }
}
