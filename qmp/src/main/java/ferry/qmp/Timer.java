package ferry.qmp;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/** One daemon thread that fires the time limits of all calls of all clients. */
final class Timer {
    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "qmp-timeouts");
        t.setDaemon(true);
        return t;
    });

    private Timer() {}

    static ScheduledFuture<?> schedule(Runnable r, Duration after) {
        return TIMER.schedule(r, after.toNanos(), TimeUnit.NANOSECONDS);
    }
}
