package ferry.cluster;

import static ferry.cluster.ClusterException.Reason.INVALID;
import static ferry.cluster.ClusterException.Reason.IO;
import static ferry.cluster.ClusterException.Reason.NOT_FOUND;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Journals as JSON lines: {@code journal/<task>.jsonl} while open, {@code journal/done/<task>.jsonl}
 * once closed. Every entry is one newline-terminated line, fsynced before append returns; bytes
 * after the last newline are a torn append of a crashed writer and are not an entry.
 * Callers hold the store lock.
 */
final class JournalFiles {
    private static final Logger log = LoggerFactory.getLogger(JournalFiles.class);
    private static final String SUFFIX = ".jsonl";

    private final Path open;
    private final Path done;

    JournalFiles(Path journalFolder) {
        this.open = journalFolder;
        this.done = journalFolder.resolve("done");
    }

    void createFolders() throws IOException {
        AtomicFiles.createFolders(done);
    }

    /** @param expectedLength the number of entries the journal must hold now; negative: any */
    void append(String taskId, ObjectNode entry, int expectedLength) throws IOException {
        if (Files.exists(closedFile(taskId))) {
            throw new ClusterException(INVALID, "the journal of task " + taskId
                    + " is closed (the task finished); start a new task for further steps");
        }
        if (expectedLength >= 0) {
            int now = Files.exists(openFile(taskId)) ? read(taskId).size() : 0;
            if (now != expectedLength) {
                throw new ClusterException(ClusterException.Reason.CONFLICT, "the journal of task " + taskId + " holds "
                        + now + " entries, not " + expectedLength + ": another writer came first; read it again");
            }
        }
        long cut = AtomicFiles.appendLine(openFile(taskId), Json.line(entry));
        if (cut > 0) {
            log.warn("journal of task {}: dropped a torn last entry of {} bytes left by a crashed writer", taskId, cut);
        }
    }

    List<ObjectNode> read(String taskId) throws IOException {
        Path file = Files.exists(openFile(taskId)) ? openFile(taskId) : closedFile(taskId);
        if (!Files.exists(file)) {
            throw new ClusterException(NOT_FOUND, "task " + taskId + " has no journal");
        }
        String text = Files.readString(file, StandardCharsets.UTF_8);
        int end = text.lastIndexOf('\n') + 1;
        if (end < text.length()) {
            log.warn("journal {}: ignoring a torn last entry of {} chars left by a crashed writer", file,
                    text.length() - end);
        }
        List<ObjectNode> entries = new ArrayList<>();
        String[] lines = text.substring(0, end).split("\n", -1);
        for (int i = 0; i < lines.length - 1; i++) {
            try {
                entries.add(Json.object(lines[i].getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new ClusterException(IO, "journal " + file + " line " + (i + 1) + " is not a JSON object ("
                        + e.getMessage() + "); repair the line by hand, the task cannot be recovered without it", e);
            }
        }
        return entries;
    }

    List<String> openIds() throws IOException {
        return ids(open);
    }

    List<String> closedIds() throws IOException {
        return ids(done);
    }

    private static List<String> ids(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(Files::isRegularFile)
                    .map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(SUFFIX) && !n.startsWith("."))
                    .map(n -> n.substring(0, n.length() - SUFFIX.length()))
                    .sorted()
                    .toList();
        }
    }

    void close(String taskId) throws IOException {
        Path from = openFile(taskId);
        Path to = closedFile(taskId);
        if (!Files.exists(from)) {
            if (Files.exists(to)) {
                return;
            }
            throw new ClusterException(NOT_FOUND, "task " + taskId + " has no journal to close");
        }
        if (Files.exists(to)) {
            throw new ClusterException(IO, "task " + taskId + " has both an open journal " + from
                    + " and a closed one " + to + "; merge them by hand");
        }
        AtomicFiles.move(from, to);
    }

    private Path openFile(String taskId) {
        return open.resolve(Names.taskId(taskId) + SUFFIX);
    }

    private Path closedFile(String taskId) {
        return done.resolve(Names.taskId(taskId) + SUFFIX);
    }
}
