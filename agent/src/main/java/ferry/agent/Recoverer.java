package ferry.agent;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterStore;
import ferry.migration.Migration;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Resolves interrupted migrations from their journals, at start and then every {@link #EVERY}
 * (sooner when the store reports a node coming or going):
 * <ul>
 * <li>those this node orchestrated that no task of this agent runs (the agent crashed, or stopped
 *     while a hand-over waited): each becomes a task of its own id;
 * <li>those to this node whose orchestrating node is down (its liveness claim lapsed, and stays
 *     lapsed for {@link #GRACE}): this node does the target's safe part ({@link Migration#recoverAsPeer}).
 * </ul>
 */
final class Recoverer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Recoverer.class);
    static final Duration EVERY = Duration.ofSeconds(15);
    /** How long a peer must stay down before this node acts for its migrations (a flapping claim is not a crash). */
    static final Duration GRACE = Duration.ofSeconds(3);

    private final String node;
    private final ClusterStore store;
    private final Migration migration;
    private final Tasks tasks;
    private final Thread thread;
    private final Semaphore wake = new Semaphore(0);
    private final Map<String, Long> downSince = new HashMap<>();
    private final Map<String, String> lastPeerNote = new HashMap<>();
    private AutoCloseable watch;
    private volatile boolean closed;

    Recoverer(String node, ClusterStore store, Migration migration, Tasks tasks) {
        this.node = node;
        this.store = store;
        this.migration = migration;
        this.tasks = tasks;
        this.thread = Thread.ofPlatform().daemon().name("recoverer " + node).unstarted(this::loop);
    }

    Recoverer start() {
        watch = store.watchLiveness(wake::release);
        thread.start();
        return this;
    }

    private void loop() {
        while (!closed) {
            long next = EVERY.toMillis();
            try {
                scan();
                next = Math.min(next, scanPeers());
            } catch (RuntimeException e) {
                log.warn("node '{}': looking for interrupted migrations failed: {}", node, e.getMessage());
            }
            try {
                wake.tryAcquire(Math.max(100, next), TimeUnit.MILLISECONDS);
                wake.drainPermits();
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /**
     * Does the target's part of each open migration to this node whose source is down; returns
     * how soon to look again (a source seen down for less than {@link #GRACE} is due then).
     */
    long scanPeers() {
        Set<String> live = store.liveNodes();
        long now = System.nanoTime();
        downSince.keySet().retainAll(store.config().nodeNames().stream().filter(n -> !live.contains(n)).toList());
        long next = EVERY.toMillis();
        for (String id : store.openJournals()) {
            List<ObjectNode> entries;
            try {
                entries = store.journal(id);
            } catch (RuntimeException e) {
                continue; // closed meanwhile, or unreadable: OwnJournals logs the latter
            }
            ObjectNode first = entries.get(0);
            String source = first.path("source").asText();
            if (closed || !node.equals(first.path("target").asText()) || live.contains(source)) {
                continue;
            }
            long since = downSince.computeIfAbsent(source, n -> now);
            long waited = (now - since) / 1_000_000;
            if (waited < GRACE.toMillis()) {
                next = Math.min(next, GRACE.toMillis() - waited);
                continue;
            }
            try {
                var outcome = migration.recoverAsPeer(id);
                if (outcome.acted() || !outcome.summary().equals(lastPeerNote.get(id))) {
                    log.info("node '{}': migration {} from node '{}' (down): {}", node, id, source, outcome.summary());
                }
                lastPeerNote.put(id, outcome.summary());
            } catch (RuntimeException e) {
                log.warn("node '{}': acting for migration {} of node '{}' (down) failed: {}; trying again", node, id,
                        source, e.getMessage());
            }
        }
        return next;
    }

    /** Starts a recovery task for each open journal of this node that no task runs. */
    void scan() {
        // another node's journals are its agent's to recover
        for (var journal : OwnJournals.of(store, node, store.openJournals()).entrySet()) {
            if (closed) {
                return;
            }
            String id = journal.getKey();
            ObjectNode first = journal.getValue().get(0);
            tasks.recover(id, first.path("vmid").asInt(), first.path("target").asText(), migration,
                            () -> store.openJournals().contains(id))
                    .ifPresent(t -> log.info("node '{}': recovering interrupted migration {} of VM {}", node, id,
                            t.vmid()));
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
        try {
            if (watch != null) {
                watch.close();
            }
        } catch (Exception e) {
            log.debug("closing the liveness watch: {}", e.getMessage());
        }
    }
}
