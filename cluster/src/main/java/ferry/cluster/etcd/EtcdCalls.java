package ferry.cluster.etcd;

import static ferry.cluster.ClusterException.Reason.IO;

import ferry.cluster.ClusterException;
import ferry.cluster.StoreAddress;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * Calls to etcd with a time limit each, and patience for an etcd that restarts: an idempotent
 * call is repeated for as long as the caller's patience lasts; a write is tried once and, when its outcome is
 * unknown (timeout, broken connection), the caller reads back what it finds before trying again.
 */
final class EtcdCalls {
    /** How long one call may take. */
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
    /** How long an agent's store waits for an unreachable etcd before it fails the operation. */
    static final Duration PATIENCE = Duration.ofSeconds(30);

    /** How often a failing store asks {@link EtcdHandshake} why. */
    private static final long DIAGNOSIS_EVERY_NANOS = Duration.ofSeconds(1).toNanos();

    private final StoreAddress address;
    private final Duration patience;
    private final EtcdTls tls;
    private volatile long lastDiagnosis = System.nanoTime() - DIAGNOSIS_EVERY_NANOS;

    EtcdCalls(StoreAddress address, Duration patience, EtcdTls tls) {
        this.address = address;
        this.patience = patience;
        this.tls = tls;
    }

    /** An idempotent call (a read), repeated while etcd does not answer, for at most the patience. */
    <T> T read(String what, Supplier<CompletableFuture<T>> call) {
        long deadline = deadline();
        while (true) {
            Optional<T> r = attempt(call);
            if (r.isPresent()) {
                return r.get();
            }
            pause(what, deadline);
        }
    }

    /** One try of a call; empty when etcd did not answer in time (a write may or may not have happened). */
    <T> Optional<T> attempt(Supplier<CompletableFuture<T>> call) {
        CompletableFuture<T> f = null;
        try {
            f = call.get();
            return Optional.of(f.get(Math.min(CALL_TIMEOUT.toMillis(), patience.toMillis()), TimeUnit.MILLISECONDS));
        } catch (TimeoutException | ExecutionException e) {
            lastError = e instanceof ExecutionException x && x.getCause() != null ? x.getCause() : e;
            if (f != null) {
                f.cancel(true);
            }
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterException(IO, "interrupted while waiting for etcd at " + address, e);
        } catch (RuntimeException e) {
            lastError = e;
            return Optional.empty();
        }
    }

    private volatile Throwable lastError;

    /** Waits a moment before the next try, or fails when etcd has been away too long. */
    void pause(String what, long deadlineNanos) {
        refusal().ifPresent(why -> {
            throw new ClusterException(IO, "cannot " + what + ": " + why, lastError);
        });
        if (System.nanoTime() > deadlineNanos) {
            throw unreachable(what);
        }
        try {
            Thread.sleep(250);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ClusterException(IO, "interrupted while waiting for etcd at " + address + " to " + what, e);
        }
    }

    /**
     * Whether etcd turns us away for good (a certificate refused, TLS against plain): then waiting
     * is no use. Asked at most once a second, since an etcd that restarts fails every call.
     */
    private Optional<String> refusal() {
        long now = System.nanoTime();
        if (now - lastDiagnosis < DIAGNOSIS_EVERY_NANOS) {
            return Optional.empty();
        }
        lastDiagnosis = now;
        return EtcdHandshake.refusal(address, tls);
    }

    ClusterException unreachable(String what) {
        Throwable e = lastError;
        String why = e == null || e instanceof TimeoutException ? "no answer" : e.getMessage();
        return new ClusterException(IO, "cannot " + what + ": etcd at " + address + " did not answer for "
                + patience.toSeconds() + " s (" + why + "); start etcd or check the cluster's store address", e);
    }

    long deadline() {
        return System.nanoTime() + patience.toNanos();
    }
}
