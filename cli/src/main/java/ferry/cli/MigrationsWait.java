package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Waits until no migration task runs, naming each task it waits for once: what {@code cluster
 * down} does before it stops any agent, so that no migration, incoming or outgoing, loses an end.
 */
final class MigrationsWait {
    private final Supplier<List<JsonNode>> running;
    private final PrintWriter out;
    private final Duration poll;

    /** {@code running}: the tasks running now (asked again every {@code poll}). */
    MigrationsWait(Supplier<List<JsonNode>> running, PrintWriter out, Duration poll) {
        this.running = running;
        this.out = out;
        this.poll = poll;
    }

    /** The tasks still running after {@code timeout}; empty once none runs. */
    List<JsonNode> await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        Set<String> named = new HashSet<>();
        while (true) {
            List<JsonNode> now = running.get();
            for (JsonNode t : now) {
                if (named.add(t.path("id").asText())) {
                    out.printf("waiting for migration task %s to end%n", ClusterTasks.describe(t));
                    out.flush();
                }
            }
            if (now.isEmpty() || System.nanoTime() >= deadline) {
                return now;
            }
            Thread.sleep(poll.toMillis());
        }
    }
}
