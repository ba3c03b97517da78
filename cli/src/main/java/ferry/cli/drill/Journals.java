package ferry.cli.drill;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.cluster.ClusterException;
import ferry.cluster.ClusterStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the migration journals of the drill's cluster. On the directory store straight from their
 * files ({@code journal/<task>.jsonl}, moved to {@code journal/done/} when closed), without the
 * store's lock: the drill polls every few milliseconds and must never slow the agents down (a
 * line being written is skipped until it is whole). On etcd through the store: a read there
 * takes no lock.
 */
final class Journals {
    private final Path dir;
    private final ClusterStore etcd;

    /** @param etcd the cluster's etcd store, or null when the records are files in the cluster folder */
    Journals(Path dir, ClusterStore etcd) {
        this.dir = dir;
        this.etcd = etcd;
    }

    /** The entries of the task's journal, open or closed; empty before its first entry. */
    List<JsonNode> entries(String task) {
        if (etcd != null) {
            try {
                return List.copyOf(etcd.journal(task));
            } catch (ClusterException e) {
                return List.of(); // no entry yet (or etcd away for a moment: asked again soon)
            }
        }
        Path open = dir.resolve(task + ".jsonl");
        Path done = dir.resolve("done").resolve(task + ".jsonl");
        List<JsonNode> out = new ArrayList<>();
        for (String line : lines(Files.exists(open) ? open : done)) {
            try {
                out.add(DrillCluster.JSON.readTree(line));
            } catch (IOException partial) {
                break;
            }
        }
        return out;
    }

    /** The {@code kind} of each entry, in order. */
    List<String> kinds(String task) {
        return entries(task).stream().map(e -> e.path("kind").asText()).toList();
    }

    boolean closed(String task) {
        if (etcd != null) {
            try {
                return etcd.closedJournals().contains(task);
            } catch (ClusterException e) {
                return false;
            }
        }
        return Files.exists(dir.resolve("done").resolve(task + ".jsonl"));
    }

    /** Open journals of any task: each is a migration nobody has resolved yet. */
    List<String> open() {
        if (etcd != null) {
            return etcd.openJournals();
        }
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".jsonl"))
                    .map(n -> n.substring(0, n.length() - ".jsonl".length())).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    /** The outcome written in the task's last entry ({@code ended}), or null while it is open. */
    String outcome(String task) {
        List<JsonNode> e = entries(task);
        return e.isEmpty() || !e.get(e.size() - 1).path("kind").asText().equals("ended") ? null
                : e.get(e.size() - 1).path("outcome").asText();
    }

    /**
     * Waits until the task's journal holds an entry of {@code kind}; false when the journal was
     * closed without one, or the time ran out.
     */
    boolean awaitStep(String task, String kind, java.time.Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (kinds(task).contains(kind)) {
                return true;
            }
            if (closed(task)) {
                return kinds(task).contains(kind);
            }
            Thread.sleep(15);
        }
        return false;
    }

    private static List<String> lines(Path p) {
        try {
            String s = Files.readString(p, StandardCharsets.UTF_8);
            List<String> whole = new ArrayList<>(s.lines().toList());
            if (!s.isEmpty() && !s.endsWith("\n") && !whole.isEmpty()) {
                whole.remove(whole.size() - 1); // still being written
            }
            return whole;
        } catch (IOException e) {
            return List.of();
        }
    }
}
