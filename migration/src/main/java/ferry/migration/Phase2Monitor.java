package ferry.migration;

import ferry.protocol.Commands;
import ferry.protocol.MigrateSetParameters;
import ferry.protocol.MigrationInfo;
import ferry.protocol.MigrationStatus;
import ferry.qmp.EventSubscription;
import ferry.qmp.QmpClient;
import ferry.qmp.QmpException;
import java.math.BigInteger;
import java.time.Duration;

/**
 * Follows a running migration on the source: polls {@code query-migrate} (every 2 s, faster
 * near the end), logs progress, applies the classic policy (double the downtime after more than
 * five polls in which the remaining bytes grew or were zero), and gives up after five
 * consecutive failed polls.
 */
final class Phase2Monitor {
    static final int MAX_QUERY_FAILURES = 5;

    private final QmpClient qmp;
    private final EventSubscription events;
    private final TaskLog log;
    private final CancelSignal cancel;
    private final Duration interval;
    private final boolean classic;
    private long downtimeMs;

    /** {@code events} should carry the source's MIGRATION events: a status change ends the wait at once. */
    Phase2Monitor(QmpClient qmp, EventSubscription events, TaskLog log, CancelSignal cancel, Duration interval,
                  boolean classic, long downtimeMs) {
        this.qmp = qmp;
        this.events = events;
        this.log = log;
        this.cancel = cancel;
        this.interval = interval;
        this.classic = classic;
        this.downtimeMs = downtimeMs;
    }

    /** Returns the final stats of a completed migration; throws when it failed or was cancelled. */
    MigrationInfo follow() {
        int failures = 0;
        int stalled = 0;
        long lastRemaining = -1;
        long lastTransferred = -1;
        long lastAt = System.nanoTime();
        while (true) {
            waitForChange(lastRemaining >= 0 && lastRemaining < 64L << 20 ? interval.dividedBy(4) : interval);
            cancel.check();
            MigrationInfo info;
            try {
                info = qmp.call(Commands.QUERY_MIGRATE, null, Duration.ofSeconds(10));
                failures = 0;
            } catch (QmpException e) {
                failures++;
                log.info("query migrate failed: %s", e.getMessage());
                if (failures >= MAX_QUERY_FAILURES) {
                    throw new MigrationFailed("too many query migrate failures (" + failures + " in a row) - aborting");
                }
                continue;
            }
            MigrationStatus status = info.status();
            if (status == MigrationStatus.COMPLETED) {
                return info;
            }
            if (status == null || status == MigrationStatus.NONE) {
                throw new MigrationFailed("QEMU reports no migration (status " + (status == null ? "absent" : "none")
                        + ") although one was started");
            }
            if (status == MigrationStatus.FAILED || status == MigrationStatus.CANCELLED) {
                throw new MigrationFailed("migration status: " + status.wire()
                        + (info.errorDesc() != null ? " - " + info.errorDesc() : ""));
            }
            if (status == MigrationStatus.SETUP || info.ram() == null) {
                continue;
            }
            long transferred = info.ram().transferred();
            long remaining = info.ram().remaining();
            long now = System.nanoTime();
            if (transferred != lastTransferred) {
                double secs = Math.max(1e-3, (now - lastAt) / 1e9);
                long rate = lastTransferred < 0 ? (long) (info.ram().mbps() * 1e6 / 8) : (long) ((transferred - lastTransferred) / secs);
                log.info("migration %s, transferred %s of %s VM-state, %s/s", status.wire(), Sizes.bytes(transferred),
                        Sizes.bytes(info.ram().total()), Sizes.bytes(Math.max(0, rate)));
                log.progress(new Progress(status.wire(), transferred, remaining, info.ram().total(), Math.max(0, rate),
                        info.ram().dirtySyncCount()));
                lastAt = now;
                lastTransferred = transferred;
            }
            if (classic) {
                if (lastRemaining >= 0 && remaining > lastRemaining || remaining == 0) {
                    stalled++;
                }
                if (stalled > 5) {
                    stalled = 0;
                    downtimeMs *= 2;
                    log.info("auto-increased downtime to continue migration: %d ms", downtimeMs);
                    try {
                        qmp.call(Commands.MIGRATE_SET_PARAMETERS, MigrateSetParameters.builder()
                                .downtimeLimit(BigInteger.valueOf(downtimeMs)).build());
                    } catch (QmpException e) {
                        log.info("migrate_set_downtime error: %s", e.getMessage());
                    }
                }
            }
            lastRemaining = remaining;
        }
    }

    long downtimeMs() {
        return downtimeMs;
    }

    /** Waits one poll interval, or less when QEMU reports a status change (e.g. completed). */
    private void waitForChange(Duration d) {
        try {
            events.poll(d);
        } catch (QmpException e) {
            // the connection dropped: the next query fails and is counted
            try {
                Thread.sleep(d.toMillis());
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                throw new MigrationFailed("interrupted");
            }
        }
    }

    /** The migration itself failed (QEMU said so, or we could not follow it). */
    static final class MigrationFailed extends RuntimeException {
        MigrationFailed(String message) {
            super(message);
        }
    }
}
