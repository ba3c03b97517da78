package ferry.agent;

import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterStore;
import ferry.migration.Migration;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the open journals this node orchestrated that no task of this agent runs (the agent
 * crashed, or stopped while a hand-over waited) and resolves each as a task of its own id: at
 * start, then every {@link #EVERY} in case one was left (e.g. its recovery hit an error).
 */
final class Recoverer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Recoverer.class);
    static final Duration EVERY = Duration.ofSeconds(15);

    private final String node;
    private final ClusterStore store;
    private final Migration migration;
    private final Tasks tasks;
    private final Thread thread;
    private volatile boolean closed;

    Recoverer(String node, ClusterStore store, Migration migration, Tasks tasks) {
        this.node = node;
        this.store = store;
        this.migration = migration;
        this.tasks = tasks;
        this.thread = Thread.ofPlatform().daemon().name("recoverer " + node).unstarted(this::loop);
    }

    Recoverer start() {
        thread.start();
        return this;
    }

    private void loop() {
        while (!closed) {
            try {
                scan();
            } catch (RuntimeException e) {
                log.warn("node '{}': looking for interrupted migrations failed: {}", node, e.getMessage());
            }
            try {
                Thread.sleep(EVERY.toMillis());
            } catch (InterruptedException e) {
                return;
            }
        }
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
            tasks.recover(id, first.path("vmid").asInt(), first.path("target").asText(), migration)
                    .ifPresent(t -> log.info("node '{}': recovering interrupted migration {} of VM {}", node, id,
                            t.vmid()));
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.interrupt();
    }
}
