package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static ferry.cluster.StoreConformance.config;
import static ferry.cluster.StoreConformance.failure;

import com.fasterxml.jackson.databind.ObjectMapper;
import ferry.cluster.ClusterException.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What only the directory store has: its files. What every store does is in {@link StoreConformance}. */
class DirectoryClusterStoreTest {
    static final ObjectMapper JSON = StoreConformance.JSON;
    static final List<NodeInfo> NODES = StoreConformance.NODES;

    @TempDir
    Path tmp;

    Path dir;
    DirectoryClusterStore store;

    @BeforeEach
    void setUp() {
        dir = tmp.resolve("cluster");
        store = DirectoryClusterStore.create(dir, "test", NODES);
    }



    // --- create / open ---

    @Test
    void createWritesTheLayoutAndOpenReadsItBack() {
        assertThat(dir.resolve("cluster.json")).isRegularFile();
        assertThat(dir.resolve("nodes/a/vms")).isDirectory();
        assertThat(dir.resolve("nodes/b/vms")).isDirectory();
        assertThat(dir.resolve("journal/done")).isDirectory();

        DirectoryClusterStore opened = DirectoryClusterStore.open(dir);
        assertThat(opened.config()).isEqualTo(store.config());
        assertThat(opened.config().name()).isEqualTo("test");
        assertThat(opened.config().nodes()).isEqualTo(NODES);
        assertThat(opened.config().node("b")).hasValue(NODES.get(1));
        assertThat(opened.config().toString()).doesNotContain(opened.config().token());
    }

    @Test
    void tokenIs64HexCharsAndTheClusterFileIsOwnerOnly() throws Exception {
        String token = store.config().token();
        assertThat(token).hasSize(64).matches("[0-9a-f]{64}");
        assertThat(DirectoryClusterStore.create(tmp.resolve("other"), "test", NODES).config().token())
                .isNotEqualTo(token);
        assertThat(Files.getPosixFilePermissions(dir.resolve("cluster.json")))
                .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        assertThat(Files.readString(dir.resolve("cluster.json"))).contains(token);
    }

    @Test
    void createRefusesAnExistingClusterAndANonEmptyFolder() throws Exception {
        byte[] before = Files.readAllBytes(dir.resolve("cluster.json"));
        ClusterException e = failure(Reason.EXISTS, () -> DirectoryClusterStore.create(dir, "other", NODES));
        assertThat(e.getMessage()).contains(dir.toString()).contains("already holds a cluster");
        assertThat(dir.resolve("cluster.json")).hasBinaryContent(before);

        Path junk = tmp.resolve("junk");
        Files.createDirectories(junk);
        Files.writeString(junk.resolve("notes.txt"), "mine");
        e = failure(Reason.INVALID, () -> DirectoryClusterStore.create(junk, "c", NODES));
        assertThat(e.getMessage()).contains("not empty").contains("notes.txt");
        assertThat(junk.resolve("cluster.json")).doesNotExist();
    }

    @Test
    void createValidatesNamesAndAddresses() {
        Path d = tmp.resolve("v");
        assertThat(failure(Reason.INVALID, () -> new NodeInfo("Node_A", "h:1", "h")).getMessage())
                .contains("Node_A");
        failure(Reason.INVALID, () -> new NodeInfo("-a", "h:1", "h"));
        assertThat(failure(Reason.INVALID, () -> new NodeInfo("a", "host", "h")).getMessage()).contains("host:port");
        failure(Reason.INVALID, () -> new NodeInfo("a", "host:0", "h"));
        failure(Reason.INVALID, () -> new NodeInfo("a", "host:65536", "h"));
        failure(Reason.INVALID, () -> new NodeInfo("a", "::1:80", "h"));
        failure(Reason.INVALID, () -> new NodeInfo("a", "h:1", "bad host"));
        assertThat(new NodeInfo("a", "[::1]:8640", "::1").agentHost()).isEqualTo("::1");
        assertThat(new NodeInfo("a", "node-a.example:8640", "10.0.0.1").agentPort()).isEqualTo(8640);

        failure(Reason.INVALID, () -> DirectoryClusterStore.create(d, "test", List.of()));
        failure(Reason.INVALID, () -> DirectoryClusterStore.create(d, "Bad Name", NODES));
        assertThat(failure(Reason.INVALID, () -> DirectoryClusterStore.create(d, "test", List.of(
                new NodeInfo("a", "h:1", "h"), new NodeInfo("a", "h:2", "h")))).getMessage()).contains("twice");
        failure(Reason.INVALID, () -> DirectoryClusterStore.create(d, "test", List.of(
                new NodeInfo("a", "h:1", "h"), new NodeInfo("b", "h:1", "h"))));
        assertThat(d.resolve("cluster.json")).doesNotExist();
    }

    @Test
    void openRejectsWhatIsNotAClusterFolder() throws Exception {
        ClusterException e = failure(Reason.NOT_FOUND, () -> DirectoryClusterStore.open(tmp.resolve("missing")));
        assertThat(e.getMessage()).contains("no cluster folder").contains("missing");

        Path empty = Files.createDirectories(tmp.resolve("empty"));
        e = failure(Reason.NOT_FOUND, () -> DirectoryClusterStore.open(empty));
        assertThat(e.getMessage()).contains("not a Ferry cluster folder").contains("cluster.json");

        Path broken = Files.createDirectories(tmp.resolve("broken"));
        Files.writeString(broken.resolve("cluster.json"), "{\"name\": \"x\", ");
        e = failure(Reason.IO, () -> DirectoryClusterStore.open(broken));
        assertThat(e.getMessage()).contains(broken.resolve("cluster.json").toString());
    }

    // --- VMs ---

    @Test
    void createVm() throws Exception {
        VmRecord r = store.create("a", 100, config("web"));
        assertThat(r).isEqualTo(new VmRecord(100, "a", config("web"), null));
        assertThat(dir.resolve("nodes/a/vms/100.json")).isRegularFile();
        assertThat(JSON.readTree(dir.resolve("nodes/a/vms/100.json").toFile()))
                .isEqualTo(JSON.createObjectNode().set("config", config("web")));
        store.create("b", 200, config("db"));

        DirectoryClusterStore other = DirectoryClusterStore.open(dir);
        assertThat(other.vm(100)).hasValue(r);
        assertThat(other.vm(101)).isEmpty();
        assertThat(other.vms()).extracting(VmRecord::vmid).containsExactly(100, 200);
        assertThat(other.vmsOf("b")).extracting(VmRecord::vmid).containsExactly(200);
        assertThat(other.vmsOf("a")).containsExactly(r);
    }

    @Test
    void moveOnlyByTheOwnerAndKeepsTheLock() {
        store.create("a", 100, config("web"));
        store.lock(100, "a", "migrate");

        ClusterException e = failure(Reason.NOT_OWNER, () -> store.move(100, "b", "a"));
        assertThat(e.getMessage()).contains("owned by node 'a'");
        failure(Reason.INVALID, () -> store.move(100, "a", "a"));
        failure(Reason.UNKNOWN_NODE, () -> store.move(100, "a", "c"));
        failure(Reason.NOT_FOUND, () -> store.move(101, "a", "b"));
        assertThat(dir.resolve("nodes/a/vms/100.json")).exists();

        VmRecord moved = store.move(100, "a", "b");
        assertThat(moved).isEqualTo(new VmRecord(100, "b", config("web"), "migrate"));
        assertThat(dir.resolve("nodes/a/vms/100.json")).doesNotExist();
        assertThat(dir.resolve("nodes/b/vms/100.json")).exists();
        assertThat(store.vm(100)).hasValue(moved);
        assertThat(store.vmsOf("a")).isEmpty();

        failure(Reason.NOT_OWNER, () -> store.move(100, "a", "b"));
        failure(Reason.NOT_OWNER, () -> store.unlock(100, "a", "migrate"));
        assertThat(store.unlock(100, "b", "migrate").locked()).isFalse();
    }

    @Test
    void malformedRecordGivesAClearErrorAndLeavesOtherVmsReadable() throws Exception {
        store.create("a", 100, config("web"));
        store.create("b", 200, config("db"));
        Path bad = dir.resolve("nodes/a/vms/101.json");
        Files.writeString(bad, "{\"config\": {\"name\": ");

        ClusterException e = failure(Reason.IO, () -> store.vm(101));
        assertThat(e.getMessage()).contains(bad.toString()).contains("VM 101").contains("node 'a'")
                .contains("repair");
        assertThat(store.vm(100).orElseThrow().config()).isEqualTo(config("web"));
        assertThat(store.vms()).extracting(VmRecord::vmid).containsExactly(100, 200);
        assertThat(store.vmsOf("a")).extracting(VmRecord::vmid).containsExactly(100);

        failure(Reason.EXISTS, () -> store.create("b", 101, config("x")));
        failure(Reason.IO, () -> store.lock(101, "a", "migrate"));
        failure(Reason.IO, () -> store.move(101, "a", "b"));
        failure(Reason.IO, () -> store.delete(101, "a"));
        assertThat(bad).hasContent("{\"config\": {\"name\": ");
        assertThat(dir.resolve("nodes/b/vms/101.json")).doesNotExist();

        Files.writeString(bad, "{\"config\": [], \"lock\": 3}");
        assertThat(failure(Reason.IO, () -> store.vm(101)).getMessage()).contains("\"config\"");
        Files.writeString(bad, "{\"config\": {}, \"lock\": \"migrate\"} trailing");
        failure(Reason.IO, () -> store.vm(101));
        Files.writeString(bad, "{\"config\": {}, \"lock\": \"migrate\"}");
        assertThat(store.vm(101).orElseThrow().lock()).isEqualTo("migrate");
    }

    @Test
    void recordsOnTwoNodesAreReportedNotGuessed() throws Exception {
        store.create("a", 100, config("web"));
        Files.copy(dir.resolve("nodes/a/vms/100.json"), dir.resolve("nodes/b/vms/100.json"));
        ClusterException e = failure(Reason.IO, () -> store.vm(100));
        assertThat(e.getMessage()).contains("several nodes").contains("[a, b]");
        failure(Reason.IO, () -> store.move(100, "a", "b"));
        assertThat(dir.resolve("nodes/a/vms/100.json")).exists();
    }

    @Test
    void openRemovesTempFilesOfCrashedWriters() throws Exception {
        store.create("a", 100, config("web"));
        Path stale = dir.resolve("nodes/a/vms/" + AtomicFiles.TEMP_PREFIX + "100.json-1234");
        Files.writeString(stale, "{");
        DirectoryClusterStore.open(dir);
        assertThat(stale).doesNotExist();
        assertThat(store.vms()).hasSize(1);
    }

    @Test
    void twoInstancesInOneJvmShareTheLock() {
        DirectoryClusterStore second = DirectoryClusterStore.open(dir);
        store.create("a", 100, config("web"));
        store.lock(100, "a", "migrate");
        failure(Reason.LOCKED, () -> second.lock(100, "a", "migrate"));
        second.unlock(100, "a", "migrate");
        assertThat(store.vm(100).orElseThrow().locked()).isFalse();
    }
}
