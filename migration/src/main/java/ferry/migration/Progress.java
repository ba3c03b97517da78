package ferry.migration;

/**
 * The latest numbers of a running migration, for progress displays: bytes sent and left, the
 * rate over the last poll, and QEMU's dirty-sync count as the pass number.
 */
public record Progress(String status, long transferred, long remaining, long total, long bytesPerSecond, long pass) {}
