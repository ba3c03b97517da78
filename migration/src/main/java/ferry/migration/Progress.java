package ferry.migration;

/**
 * The latest numbers of a running migration, for progress bars, logs and {@code --json} lines.
 *
 * @param phase            precopy, postcopy or switchover
 * @param status           QEMU's migration status
 * @param percent          share of the work done; never goes backwards even when the remaining bytes grow
 * @param bytesPerSecond   link rate over the last poll
 * @param dirtyBytesPerSecond the guest's dirty rate as QEMU measured it at the last sync
 * @param pass             QEMU's dirty-sync count
 * @param throttlePercent  how much auto-converge slows the vCPUs
 * @param etaSeconds       the model's estimate of the time left; null while it cannot converge at these rates
 */
public record Progress(String phase, String status, double percent, long transferred, long remaining, long total,
                       long bytesPerSecond, long dirtyBytesPerSecond, long pass, int throttlePercent,
                       long downtimeLimitMs, long expectedDowntimeMs, Double etaSeconds, long elapsedMs) {}
