package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static ferry.cluster.StoreConformance.failure;
import static ferry.cluster.StoreConformance.step;

import ferry.cluster.ClusterException.Reason;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalTest {

    @TempDir
    Path tmp;

    Path dir;
    DirectoryClusterStore store;

    @BeforeEach
    void setUp() {
        dir = tmp.resolve("cluster");
        store = DirectoryClusterStore.create(dir, "test", StoreConformance.NODES);
    }



    @Test
    void journalsAreJsonLinesMovedToDoneWhenClosed() throws Exception {
        store.appendJournal("t-1", step("prepare", 1));
        store.appendJournal("t-1", step("phase1", 2));
        assertThat(Files.readAllLines(dir.resolve("journal/t-1.jsonl"))).hasSize(2);
        store.closeJournal("t-1");
        assertThat(dir.resolve("journal/t-1.jsonl")).doesNotExist();
        assertThat(Files.readAllLines(dir.resolve("journal/done/t-1.jsonl"))).hasSize(2);
    }

    @Test
    void aTornLastEntryIsNotAnEntryAndTheNextAppendCutsIt() throws Exception {
        store.appendJournal("t", step("prepare", 1));
        Path file = dir.resolve("journal/t.jsonl");
        Files.write(file, "{\"phase\": \"pha".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);

        assertThat(store.journal("t")).containsExactly(step("prepare", 1));
        store.appendJournal("t", step("phase1", 2));
        assertThat(store.journal("t")).containsExactly(step("prepare", 1), step("phase1", 2));
        assertThat(Files.readAllLines(file)).hasSize(2);
    }

    @Test
    void aBrokenMiddleLineIsAClearError() throws Exception {
        Path file = dir.resolve("journal/t.jsonl");
        Files.writeString(file, "{\"n\":1}\nnot json\n{\"n\":3}\n");
        ClusterException e = failure(Reason.IO, () -> store.journal("t"));
        assertThat(e.getMessage()).contains(file.toString()).contains("line 2");
        assertThat(store.openJournals()).isEqualTo(List.of("t"));
    }
}
