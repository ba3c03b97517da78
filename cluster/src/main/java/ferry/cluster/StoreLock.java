package ferry.cluster;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The exclusive lock of a cluster folder: an in-process lock (shared by every store instance of
 * the folder in this JVM, since a JVM may hold a file lock only once) plus a {@link FileLock} on
 * {@code .lock} for other processes. The lock file is opened only while the in-process lock is
 * held, so closing it never drops a POSIX lock another thread of this JVM holds.
 */
final class StoreLock {
    private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

    private final Path file;
    private final ReentrantLock local;
    private final Duration timeout;

    /** @param file the lock file; its folder must exist */
    StoreLock(Path file, Duration timeout) throws IOException {
        this.file = file.getParent().toRealPath().resolve(file.getFileName());
        this.local = IN_PROCESS.computeIfAbsent(this.file, f -> new ReentrantLock());
        this.timeout = timeout;
    }

    interface Body<T> {
        T run() throws IOException;
    }

    <T> T call(Body<T> body) throws IOException {
        if (local.isHeldByCurrentThread()) {
            throw new IllegalStateException("cluster folder lock taken twice by one thread");
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            if (!local.tryLock(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                throw busy();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the lock " + file, e);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock held = acquire(ch, deadline);
            try {
                return body.run();
            } finally {
                held.release();
            }
        } finally {
            local.unlock();
        }
    }

    private FileLock acquire(FileChannel ch, long deadline) throws IOException {
        long sleepMillis = 1;
        while (true) {
            FileLock lock = ch.tryLock();
            if (lock != null) {
                return lock;
            }
            if (System.nanoTime() - deadline > 0) {
                throw busy();
            }
            try {
                Thread.sleep(sleepMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the lock " + file, e);
            }
            sleepMillis = Math.min(sleepMillis * 2, 10);
        }
    }

    private IOException busy() {
        return new IOException("another process has held the lock " + file + " for more than "
                + timeout.toSeconds() + " s; find it with 'fuser -v " + file + "' and check it is not hung");
    }
}
