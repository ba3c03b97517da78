package ferry.qmp;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * One subscriber's own queue of events, filtered by name. Slow readers never block the client:
 * when the queue is full the oldest event is dropped and counted.
 */
public final class EventSubscription implements AutoCloseable {
    private final Set<String> names;
    private final LinkedBlockingQueue<QmpEventMessage> queue;
    private final Runnable onClose;
    private final AtomicLong dropped = new AtomicLong();
    private volatile String endReason;

    EventSubscription(Set<String> names, int capacity, Runnable onClose) {
        this.names = Set.copyOf(names);
        this.queue = new LinkedBlockingQueue<>(capacity);
        this.onClose = onClose;
    }

    boolean wants(String name) {
        return names.isEmpty() || names.contains(name);
    }

    void offer(QmpEventMessage m) {
        while (!queue.offer(m)) {
            if (queue.poll() != null) {
                dropped.incrementAndGet();
            }
        }
    }

    void end(String reason) {
        endReason = reason;
    }

    /**
     * The next event, waiting at most {@code timeout}; null if none came in time.
     *
     * @throws QmpConnectionException when the connection has ended and no event is left
     */
    public QmpEventMessage poll(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            QmpEventMessage m = queue.poll();
            if (m != null) {
                return m;
            }
            if (endReason != null) {
                throw new QmpConnectionException(endReason);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            try {
                // wake up now and then to notice the end of the connection
                m = queue.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(100)), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new QmpException("interrupted while waiting for an event");
            }
            if (m != null) {
                return m;
            }
        }
    }

    /** Waits for the first event that matches, dropping the others; null if none came in time. */
    public QmpEventMessage await(Predicate<QmpEventMessage> match, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return null;
            }
            QmpEventMessage m = poll(Duration.ofNanos(left));
            if (m != null && match.test(m)) {
                return m;
            }
        }
    }

    /** How many events were dropped because this subscriber fell behind. */
    public long dropped() {
        return dropped.get();
    }

    @Override
    public void close() {
        onClose.run();
    }
}
