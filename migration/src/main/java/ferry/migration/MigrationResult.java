package ferry.migration;

import java.util.List;

/**
 * How a migration ended. {@code problems} lists what is left to repair when it finished with
 * problems (after ownership moved, nothing is rolled back).
 */
public record MigrationResult(Status status, int vmid, String source, String target, boolean online, long durationMs,
                              Long qemuTotalMs, Long downtimeMs, Long transferredBytes, String policy, String error,
                              List<String> problems, List<String> log) {
    public enum Status { COMPLETED, FAILED, CANCELLED, PROBLEMS }
}
