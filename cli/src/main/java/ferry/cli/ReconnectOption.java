package ferry.cli;

import java.time.Duration;
import picocli.CommandLine.Option;

/** {@code --reconnect-wait S}: how long a follower waits for an agent that stopped answering mid-task. */
final class ReconnectOption {
    @Option(names = "--reconnect-wait", paramLabel = "S", defaultValue = "120", description = "When the agent running the task stops answering, wait up to S "
            + "seconds (default ${DEFAULT-VALUE}) for it to come back, then follow the recovered task (same id) to its "
            + "end; else exit 4.")
    int seconds;

    Duration duration() {
        if (seconds < 0) {
            throw new UsageError("--reconnect-wait must be 0 or more seconds, got " + seconds);
        }
        return Duration.ofSeconds(seconds);
    }
}
