package ferry.cluster.etcd;

import ferry.cluster.NodeLease;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.support.CloseableClient;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's liveness claim in etcd: the key {@code alive/<node>} attached to a lease that etcd's
 * keep-alive stream renews. When the stream ends (etcd restarted, the lease expired, the
 * connection broke), the lease counts as lost: peers may already see the node down. The node then
 * takes a new lease and claims the key again, once a second until etcd answers.
 */
final class EtcdLease implements NodeLease {
    private static final Logger log = LoggerFactory.getLogger(EtcdLease.class);

    private final Client client;
    private final EtcdCalls calls;
    private final ByteSequence key;
    private final String node;
    private final long ttlSeconds;
    private final ScheduledExecutorService retaker;
    private volatile long leaseId;
    private volatile CloseableClient keepAlive;
    private volatile long heldUntil;
    private volatile int renewals;
    private volatile boolean closed;

    EtcdLease(Client client, EtcdCalls calls, ByteSequence key, String node, Duration ttl) {
        this.client = client;
        this.calls = calls;
        this.key = key;
        this.node = node;
        this.ttlSeconds = Math.max(2, ttl.toSeconds()); // etcd's shortest lease is about 2 s
        this.retaker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lease-" + node);
            t.setDaemon(true);
            return t;
        });
        if (!take()) {
            throw calls.unreachable("claim node '" + node + "' alive");
        }
    }

    /** Grants a lease, puts the claim on it and starts its keep-alive stream; false if etcd did not answer. */
    private synchronized boolean take() {
        if (closed) {
            return true;
        }
        long deadline = calls.deadline();
        while (true) {
            Optional<Long> id = calls.attempt(() -> client.getLeaseClient().grant(ttlSeconds)).map(g -> g.getID());
            if (id.isPresent()) {
                ByteSequence claim = ByteSequence.from("{\"pid\": " + ProcessHandle.current().pid() + "}",
                        StandardCharsets.UTF_8);
                boolean put = calls.attempt(() -> client.getKVClient().put(key, claim,
                        PutOption.builder().withLeaseId(id.get()).build())).isPresent();
                if (put) {
                    leaseId = id.get();
                    heldUntil = System.currentTimeMillis() + ttlSeconds * 1000;
                    keepAlive = client.getLeaseClient().keepAlive(leaseId, new Renewals(leaseId));
                    return true;
                }
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            sleep(250);
        }
    }

    /** Follows one lease's keep-alive stream; its end means the lease is lost. */
    private final class Renewals implements StreamObserver<LeaseKeepAliveResponse> {
        private final long id;

        Renewals(long id) {
            this.id = id;
        }

        @Override
        public void onNext(LeaseKeepAliveResponse r) {
            if (id == leaseId && r.getTTL() > 0) {
                heldUntil = System.currentTimeMillis() + r.getTTL() * 1000;
            }
        }

        @Override
        public void onError(Throwable t) {
            lost("its keep-alive stream failed: " + t.getMessage());
        }

        @Override
        public void onCompleted() {
            lost("its keep-alive stream ended");
        }

        private void lost(String why) {
            if (closed || id != leaseId) {
                return;
            }
            heldUntil = 0;
            log.warn("node '{}' lost its liveness lease ({}); peers may see it down; taking a new one", node, why);
            retaker.execute(EtcdLease.this::retake);
        }
    }

    private void retake() {
        CloseableClient old = keepAlive;
        if (old != null) {
            old.close();
        }
        while (!closed && !take()) {
            log.warn("node '{}' cannot take a new liveness lease yet; trying again", node);
        }
        if (!closed) {
            renewals++;
            log.info("node '{}' holds a new liveness lease", node);
        }
    }

    @Override
    public boolean held() {
        return System.currentTimeMillis() < heldUntil;
    }

    @Override
    public int renewals() {
        return renewals;
    }

    @Override
    public void close() {
        closed = true;
        retaker.shutdownNow();
        CloseableClient k = keepAlive;
        if (k != null) {
            k.close();
        }
        // revoking deletes the claim at once; if etcd is away, the lease lapses on its own
        calls.attempt(() -> client.getLeaseClient().revoke(leaseId));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
