package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import ferry.cluster.ClusterException.Reason;
import ferry.cluster.etcd.EtcdClusterStore;
import ferry.testkit.etcd.EtcdServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The conformance suite on etcd over mutual TLS, as clusters use it (a real etcd process, one per
 * class, serving with a certificate of a cluster CA and demanding one from clients; every test its
 * own cluster name, so its own key prefix), plus what only etcd has: it can be killed and
 * restarted. The suite's store speaks as the admin, its child JVMs as node a.
 */
class EtcdStoreConformanceTest extends StoreConformance {
    static TlsEtcd tlsEtcd;
    static EtcdServer etcd;
    static Path etcdDir;
    private static int clusters;
    private String name;

    @BeforeAll
    static void startEtcd() throws Exception {
        String why = EtcdServer.unavailableReason();
        if (why != null) {
            System.out.println("EtcdStoreConformanceTest skipped: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        etcdDir = Files.createTempDirectory("ferry-etcd-test");
        tlsEtcd = TlsEtcd.start(etcdDir);
        etcd = tlsEtcd.server();
    }

    @AfterAll
    static void stopEtcd() throws Exception {
        if (tlsEtcd != null) {
            tlsEtcd.close();
        }
    }

    StoreAddress address() {
        return StoreAddress.parse(etcd.storeAddress());
    }

    @Override
    ClusterStore createCluster(String base) {
        name = base + "-" + ProcessHandle.current().pid() + "-" + (++clusters);
        return EtcdClusterStore.create(address(), name, NODES, tlsEtcd.admin());
    }

    @Override
    ClusterStore reopen() {
        return open(name, EtcdClusterStore.PATIENCE);
    }

    private ClusterStore open(String cluster, Duration patience) {
        return EtcdClusterStore.open(address(), cluster, patience, tlsEtcd.admin());
    }

    @Override
    String spec() {
        return StoreSpec.etcds(etcd.storeAddress(), name, "a", tlsEtcd.clusterDir());
    }

    @Test
    void aSecondClusterOfTheSameNameIsRefusedAndOthersAreSeparate() {
        store.create("a", 100, config("web"));
        ClusterException e = failure(Reason.EXISTS, () -> EtcdClusterStore.create(address(), name, NODES, tlsEtcd.admin()));
        assertThat(e.getMessage()).contains("already holds a cluster named '" + name + "'");
        ClusterStore other = track(EtcdClusterStore.create(address(), name + "-other", NODES, tlsEtcd.node("b")));
        assertThat(other.vms()).isEmpty();
        assertThat(other.config().token()).isNotEqualTo(store.config().token());
        e = failure(Reason.NOT_FOUND, () -> open("nothing-here", EtcdClusterStore.PATIENCE));
        assertThat(e.getMessage()).contains("holds no cluster named 'nothing-here'").contains("ferry cluster create");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void killedAndRestartedEtcdKeepsEverythingAndCallsWaitForIt() throws Exception {
        store.create("a", 100, config("web"));
        store.lock(100, "a", "migrate");
        store.appendJournal("t-1", step("lock", 1));
        try (NodeLease lease = store.announce("a", Duration.ofSeconds(2))) {
            etcd.kill();
            // a call made while etcd is down waits for it (up to its patience) and then succeeds once
            CompletableFuture<VmRecord> moving = CompletableFuture.supplyAsync(() -> store.move(100, "a", "b"));
            CompletableFuture<Void> appending = CompletableFuture.runAsync(() -> store.appendJournal("t-1", step("moved", 2)));
            Thread.sleep(3_000);
            assertThat(moving).isNotDone();
            etcd.restart();
            assertThat(moving.get(60, TimeUnit.SECONDS).owner()).isEqualTo("b");
            appending.get(60, TimeUnit.SECONDS);

            ClusterStore fresh = track(reopen());
            assertThat(fresh.vm(100).orElseThrow()).isEqualTo(new VmRecord(100, "b", config("web"), "migrate"));
            assertThat(fresh.journal("t-1")).containsExactly(step("lock", 1), step("moved", 2));
            long back = System.nanoTime();
            while (!fresh.liveNodes().contains("a")) { // the node claims itself alive again
                assertThat(Duration.ofNanos(System.nanoTime() - back)).isLessThan(Duration.ofSeconds(30));
                Thread.sleep(100);
            }
            System.out.printf("etcd restart: lease held=%s, retaken %d time(s)%n", lease.held(), lease.renewals());
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anUnreachableEtcdIsAClearErrorThatChangesNothing() throws Exception {
        store.create("a", 100, config("web"));
        ClusterStore impatient = track(open(name, Duration.ofSeconds(2)));
        etcd.kill();
        try {
            ClusterException e = failure(Reason.IO, () -> impatient.lock(100, "a", "migrate"));
            assertThat(e.getMessage()).contains("lock VM 100").contains(etcd.storeAddress()).contains("did not answer");
        } finally {
            etcd.restart();
        }
        assertThat(store.vm(100).orElseThrow().locked()).isFalse();
    }

    @Override
    int iterationsAcrossProcesses() {
        return 60;
    }
}
