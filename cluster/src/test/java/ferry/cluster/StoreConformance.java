package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.cluster.ClusterException.Reason;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What every cluster store must do, run against each store: the same refusals with the same
 * words, compare-and-set with exactly one winner between threads and between processes, atomic
 * ownership moves, journals in order, and liveness claims that lapse when their holder dies.
 */
abstract class StoreConformance {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<NodeInfo> NODES = List.of(
            new NodeInfo("a", "127.0.0.1:8641", "127.0.0.1"),
            new NodeInfo("b", "127.0.0.1:8642", "127.0.0.1"));

    @TempDir
    Path tmp;

    ClusterStore store;
    private final List<ClusterStore> opened = new ArrayList<>();

    /** Creates a new, empty cluster of {@link #NODES}; each call a separate cluster. */
    abstract ClusterStore createCluster(String name);

    /** A second handle on the cluster {@link #createCluster} made last, as another node would open it. */
    abstract ClusterStore reopen();

    /** How a child JVM opens that cluster: the argument {@link StoreSpec#open} reads. */
    abstract String spec();

    @BeforeEach
    void setUpStore() {
        store = track(createCluster("test"));
    }

    @AfterEach
    void closeStores() {
        opened.forEach(ClusterStore::close);
    }

    ClusterStore track(ClusterStore s) {
        opened.add(s);
        return s;
    }

    static ObjectNode config(String name) {
        return JSON.createObjectNode().put("name", name).put("memory", 512);
    }

    static ObjectNode step(String phase, int n) {
        return JSON.createObjectNode().put("phase", phase).put("n", n).put("note", "multi\nline \"text\"");
    }

    static ClusterException failure(Reason reason, Runnable call) {
        ClusterException e = catchThrowableOfType(ClusterException.class, call::run);
        assertThat(e).as("expected a ClusterException").isNotNull();
        assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason);
        return e;
    }

    // --- the cluster and its VMs ---

    @Test
    void anotherHandleSeesTheSameClusterAndRecords() {
        VmRecord r = store.create("a", 100, config("web"));
        store.create("b", 200, config("db"));
        ClusterStore other = track(reopen());
        assertThat(other.config()).isEqualTo(store.config());
        assertThat(other.config().nodes()).isEqualTo(NODES);
        assertThat(other.config().token()).matches("[0-9a-f]{64}");
        assertThat(other.vm(100)).hasValue(r);
        assertThat(other.vm(101)).isEmpty();
        assertThat(other.vms()).extracting(VmRecord::vmid).containsExactly(100, 200);
        assertThat(other.vmsOf("b")).extracting(VmRecord::vmid).containsExactly(200);
        assertThat(other.vmsOf("a")).containsExactly(r);
        assertThat(other.location()).isEqualTo(store.location());
    }

    @Test
    void anAddedNodeIsAMemberForHandlesOpenedAfterwards() {
        NodeInfo c = new NodeInfo("c", "127.0.0.1:9999", "127.0.0.1");
        ClusterConfig next = store.addNode(c);
        assertThat(next.nodeNames()).containsExactly("a", "b", "c");
        assertThat(next.token()).isEqualTo(store.config().token());
        ClusterStore other = track(reopen());
        assertThat(other.config()).isEqualTo(next);
        assertThat(other.create("c", 300, config("on-c")).owner()).isEqualTo("c");
        assertThatThrownBy(() -> other.addNode(new NodeInfo("c", "127.0.0.1:9998", "127.0.0.1")))
                .isInstanceOf(ClusterException.class).hasMessageContaining("twice");
        assertThatThrownBy(() -> other.addNode(new NodeInfo("d", "127.0.0.1:9999", "127.0.0.1")))
                .isInstanceOf(ClusterException.class).hasMessageContaining("of another node");
        assertThat(track(reopen()).config().nodeNames()).containsExactly("a", "b", "c");
    }

    @Test
    void maintenanceIsSetAndClearedForEveryHandleAndKeepsRacingChanges() throws Exception {
        ClusterStore other = track(reopen());
        ClusterConfig on = store.maintenance("b", true);
        assertThat(on.node("b").orElseThrow().maintenance()).isTrue();
        assertThat(on.node("a").orElseThrow().maintenance()).isFalse();
        // another handle (another node's agent) reads it now, and so does one opened afterwards
        assertThat(other.currentConfig().node("b").orElseThrow().maintenance()).isTrue();
        assertThat(track(reopen()).config().node("b").orElseThrow().maintenance()).isTrue();
        assertThat(store.maintenance("b", true)).isEqualTo(on); // already set: nothing changes

        // a node added meanwhile by the other handle is kept, and keeps the flag of b
        other.addNode(new NodeInfo("c", "127.0.0.1:9999", "127.0.0.1"));
        ClusterConfig both = store.maintenance("a", true);
        assertThat(both.nodeNames()).containsExactly("a", "b", "c");
        assertThat(both.nodes()).extracting(NodeInfo::maintenance).containsExactly(true, true, false);

        // two handles toggling different nodes at once: both flags end set (compare-and-set, no lost update)
        other.maintenance("a", false);
        store.maintenance("b", false);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<?> x = pool.submit(() -> store.maintenance("a", true));
            Future<?> y = pool.submit(() -> other.maintenance("c", true));
            x.get(30, TimeUnit.SECONDS);
            y.get(30, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        assertThat(store.currentConfig().nodes()).extracting(NodeInfo::maintenance).containsExactly(true, false, true);

        ClusterException e = failure(Reason.UNKNOWN_NODE, () -> store.maintenance("zz", true));
        assertThat(e).hasMessageContaining("unknown node 'zz'").hasMessageContaining("a, b, c");
        assertThat(store.currentConfig().nodes()).extracting(NodeInfo::maintenance).containsExactly(true, false, true);
    }

    @Test
    void aNodesOwnQemuIsKeptAndCanBeUnset() {
        NodeQemu q = new NodeQemu("/opt/qemu-7.2/root/usr/bin/qemu-system-x86_64",
                "/opt/qemu-7.2/root/usr/lib/x86_64-linux-gnu/qemu", List.of("/opt/qemu-7.2/root/usr/share/qemu",
                "/usr/share/seabios"));
        ClusterConfig next = store.setQemu("a", q);
        assertThat(next.node("a").orElseThrow().qemu()).isEqualTo(q);
        assertThat(next.node("b").orElseThrow().qemu()).isNull();
        assertThat(track(reopen()).config().node("a").orElseThrow().qemu()).isEqualTo(q);
        assertThatThrownBy(() -> store.setQemu("zz", q)).isInstanceOf(ClusterException.class)
                .hasMessageContaining("unknown node 'zz'");
        assertThatThrownBy(() -> new NodeQemu("qemu-system-x86_64", null, List.of()))
                .isInstanceOf(ClusterException.class).hasMessageContaining("not an absolute path");
        store.setQemu("a", null);
        assertThat(track(reopen()).config().nodes()).isEqualTo(NODES);
    }

    @Test
    void recordsAreCopies() {
        ObjectNode c = config("web");
        VmRecord r = store.create("a", 100, c);
        c.put("name", "changed");
        r.config().put("name", "changed too");
        assertThat(store.vm(100).orElseThrow().config().get("name").asText()).isEqualTo("web");
    }

    @Test
    void createRefusesDuplicatesUnknownNodesAndBadVmids() {
        store.create("a", 100, config("web"));
        ClusterException e = failure(Reason.EXISTS, () -> store.create("b", 100, config("other")));
        assertThat(e.getMessage()).isEqualTo("VM 100 already exists on node 'a'; pick another vmid");
        failure(Reason.EXISTS, () -> store.create("a", 100, config("other")));
        e = failure(Reason.UNKNOWN_NODE, () -> store.create("c", 101, config("x")));
        assertThat(e.getMessage()).contains("'c'").contains("a, b");
        assertThat(failure(Reason.INVALID, () -> store.create("a", 99, config("x"))).getMessage()).contains("99");
        failure(Reason.INVALID, () -> store.create("a", 1_000_000_000, config("x")));
        failure(Reason.INVALID, () -> store.create("a", 102, null));
        store.create("a", 999_999_999, config("max"));
        assertThat(store.vms()).extracting(VmRecord::vmid).containsExactly(100, 999_999_999);
        assertThat(store.vm(100).orElseThrow().config()).isEqualTo(config("web"));
    }

    @Test
    void update() {
        store.create("a", 100, config("web"));
        VmRecord u = store.update(100, "a", config("web2"));
        assertThat(store.vm(100)).hasValue(u);
        ClusterException e = failure(Reason.NOT_OWNER, () -> store.update(100, "b", config("x")));
        assertThat(e.getMessage()).contains("owned by node 'a'").contains("not 'b'");
        failure(Reason.NOT_FOUND, () -> store.update(101, "a", config("x")));
        failure(Reason.UNKNOWN_NODE, () -> store.update(100, "zz", config("x")));

        store.lock(100, "a", "migrate");
        e = failure(Reason.LOCKED, () -> store.update(100, "a", config("x")));
        assertThat(e.getMessage()).contains("locked (migrate)").contains("node 'a'");
        failure(Reason.LOCKED, () -> store.update(100, "a", config("x"), "backup"));
        assertThat(store.update(100, "a", config("web3"), "migrate").lock()).isEqualTo("migrate");
        assertThat(store.vm(100)).hasValue(new VmRecord(100, "a", config("web3"), "migrate"));
        store.unlock(100, "a", "migrate");
        assertThat(failure(Reason.LOCKED, () -> store.update(100, "a", config("x"), "migrate")).getMessage())
                .contains("not locked");
        assertThat(store.vm(100).orElseThrow().config()).isEqualTo(config("web3"));
    }

    @Test
    void lockIsCompareAndSet() {
        store.create("a", 100, config("web"));
        assertThat(store.lock(100, "a", "migrate").locked()).isTrue();
        ClusterException e = failure(Reason.LOCKED, () -> store.lock(100, "a", "backup"));
        assertThat(e.getMessage())
                .isEqualTo("cannot lock VM 100 (backup): VM 100 is locked (migrate) on node 'a'; wait for the "
                        + "running migration or run 'ferry vm unlock 100' once you know none runs");
        failure(Reason.LOCKED, () -> store.lock(100, "a", "migrate"));
        assertThat(track(reopen()).vm(100).orElseThrow().lock()).isEqualTo("migrate");
        store.create("b", 200, config("db"));
        failure(Reason.NOT_OWNER, () -> store.lock(200, "a", "migrate"));
        failure(Reason.INVALID, () -> store.lock(200, "b", "Migrate!"));
        assertThat(store.vm(200).orElseThrow().locked()).isFalse();
    }

    @Test
    void aLockNamesItsTaskAndNodeUntilItIsDropped() {
        store.create("a", 100, config("web"));
        VmRecord.LockHolder holder = new VmRecord.LockHolder("migrate-a-100-1", "a");
        assertThat(store.lock(100, "a", "migrate", holder).lockHolder()).isEqualTo(holder);
        assertThat(track(reopen()).vm(100).orElseThrow().lockHolder()).isEqualTo(holder);
        assertThat(failure(Reason.LOCKED, () -> store.lock(100, "a", "backup")).getMessage())
                .contains("locked (migrate) on node 'a' by task migrate-a-100-1 of node 'a'");
        assertThat(store.move(100, "a", "b").lockHolder()).as("a move keeps the lock and its holder").isEqualTo(holder);
        assertThat(store.unlock(100, "b", "migrate").lockHolder()).isNull();
        assertThat(store.vm(100).orElseThrow().lockHolder()).isNull();
    }

    @Test
    void unlockChecksTheExpectedLock() {
        store.create("a", 100, config("web"));
        store.lock(100, "a", "migrate");
        assertThat(failure(Reason.LOCKED, () -> store.unlock(100, "a", "backup")).getMessage())
                .contains("(backup)").contains("locked (migrate)");
        failure(Reason.NOT_OWNER, () -> store.unlock(100, "b", "migrate"));
        assertThat(store.unlock(100, "a", "migrate").lock()).isNull();
        assertThat(store.vm(100).orElseThrow().lock()).isNull();
        assertThat(failure(Reason.LOCKED, () -> store.unlock(100, "a", "migrate")).getMessage()).contains("not locked");
        store.lock(100, "a", "backup"); // a person's unlock: any lock, a no-op when unlocked
        assertThat(store.unlock(100, "a", null).locked()).isFalse();
        assertThat(store.unlock(100, "a", null).locked()).isFalse();
    }

    @Test
    void moveIsAtomicOnlyByTheOwnerAndKeepsTheLock() {
        store.create("a", 100, config("web"));
        store.lock(100, "a", "migrate");
        assertThat(failure(Reason.NOT_OWNER, () -> store.move(100, "b", "a")).getMessage()).contains("owned by node 'a'");
        failure(Reason.INVALID, () -> store.move(100, "a", "a"));
        failure(Reason.UNKNOWN_NODE, () -> store.move(100, "a", "c"));
        failure(Reason.NOT_FOUND, () -> store.move(101, "a", "b"));

        VmRecord moved = store.move(100, "a", "b");
        assertThat(moved).isEqualTo(new VmRecord(100, "b", config("web"), "migrate"));
        ClusterStore other = track(reopen());
        assertThat(other.vm(100)).hasValue(moved);
        assertThat(other.vmsOf("a")).isEmpty();
        assertThat(other.vmsOf("b")).containsExactly(moved);
        failure(Reason.NOT_OWNER, () -> store.move(100, "a", "b"));
        failure(Reason.NOT_OWNER, () -> store.unlock(100, "a", "migrate"));
        assertThat(store.unlock(100, "b", "migrate").locked()).isFalse();
    }

    @Test
    void delete() {
        store.create("a", 100, config("web"));
        failure(Reason.NOT_OWNER, () -> store.delete(100, "b"));
        store.lock(100, "a", "migrate");
        assertThat(failure(Reason.LOCKED, () -> store.delete(100, "a")).getMessage()).contains("locked (migrate)");
        store.unlock(100, "a", "migrate");
        store.delete(100, "a");
        assertThat(store.vm(100)).isEmpty();
        failure(Reason.NOT_FOUND, () -> store.delete(100, "a"));
        store.create("b", 100, config("again"));
        assertThat(store.vm(100).orElseThrow().owner()).isEqualTo("b");
    }

    // --- journals ---

    @Test
    void journalsKeepOrderAndCloseOnce() {
        String task = "UPID:a:0001:migrate:100";
        assertThat(store.openJournals()).isEmpty();
        assertThat(store.closedJournals()).isEmpty();
        failure(Reason.NOT_FOUND, () -> store.journal(task));

        List<ObjectNode> written = new ArrayList<>();
        for (int i = 1; i <= 12; i++) { // past 9 and 10: order is not the order of the text of a number
            written.add(step("p" + i, i));
            store.appendJournal(task, written.get(i - 1));
        }
        store.appendJournal("t-2", step("prepare", 1));
        assertThat(store.journal(task)).containsExactlyElementsOf(written);
        assertThat(store.openJournals()).containsExactly("UPID:a:0001:migrate:100", "t-2");
        assertThat(track(reopen()).journal(task)).containsExactlyElementsOf(written);

        track(reopen()).closeJournal(task);
        assertThat(store.openJournals()).containsExactly("t-2");
        assertThat(store.closedJournals()).containsExactly(task);
        assertThat(store.journal(task)).containsExactlyElementsOf(written);
        store.closeJournal(task); // idempotent

        ClusterException e = failure(Reason.INVALID, () -> store.appendJournal(task, step("late", 13)));
        assertThat(e.getMessage()).contains(task).contains("closed");
        failure(Reason.NOT_FOUND, () -> store.closeJournal("nope"));
        failure(Reason.INVALID, () -> store.appendJournal("../escape", step("x", 0)));
        failure(Reason.INVALID, () -> store.appendJournal("t-3", null));
        assertThat(store.journal(task)).hasSize(12);
        assertThat(store.openJournals()).containsExactly("t-2");
    }

    @Test
    void anAppendAtAStaleLengthIsRefusedAndChangesNothing() {
        store.appendJournal("t", step("lock", 1), 0);
        store.appendJournal("t", step("migrate", 2), 1);
        ClusterStore other = track(reopen());
        other.appendJournal("t", step("peer", 3), 2); // the other writer comes first
        ClusterException e = failure(Reason.CONFLICT, () -> store.appendJournal("t", step("resume", 3), 2));
        assertThat(e.getMessage()).contains("task t").contains("3 entries, not 2");
        failure(Reason.CONFLICT, () -> store.appendJournal("t", step("resume", 3), 4));
        failure(Reason.CONFLICT, () -> store.appendJournal("fresh", step("x", 1), 1));
        store.appendJournal("t", step("resume", 4), 3);
        assertThat(store.journal("t")).containsExactly(step("lock", 1), step("migrate", 2), step("peer", 3),
                step("resume", 4));
        store.closeJournal("t");
        failure(Reason.INVALID, () -> store.appendJournal("t", step("late", 5), 4));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void ofWritersRacingAtOneLengthExactlyOneWins() throws Exception {
        int rounds = 10;
        exactlyOneWinsEachRound(rounds, Reason.CONFLICT, round -> { },
                (h, racer, round) -> h.appendJournal("race", step("r" + racer, round), round));
        assertThat(store.journal("race")).hasSize(rounds);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void concurrentAppendsAreAllKeptInOneOrder() throws Exception {
        int perWriter = 25;
        try (ExecutorService pool = Executors.newFixedThreadPool(3)) {
            List<Future<?>> writers = new ArrayList<>();
            for (int w = 0; w < 3; w++) {
                ClusterStore own = track(reopen());
                int writer = w;
                writers.add(pool.submit(() -> {
                    for (int i = 0; i < perWriter; i++) {
                        own.appendJournal("shared", step("w" + writer, i));
                    }
                }));
            }
            for (Future<?> f : writers) {
                f.get();
            }
        }
        List<ObjectNode> entries = store.journal("shared");
        assertThat(entries).hasSize(3 * perWriter);
        for (int w = 0; w < 3; w++) {
            String phase = "w" + w;
            assertThat(entries.stream().filter(e -> e.get("phase").asText().equals(phase)).map(e -> e.get("n").asInt()))
                    .as("writer %d's entries in its own order", w).isSorted().hasSize(perWriter);
        }
    }

    // --- races: exactly one winner ---

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void ofThreadsRacingForOneLockExactlyOneWins() throws Exception {
        exactlyOneWinsEachRound(20, Reason.LOCKED, round -> store.create("a", 1000 + round, config("r" + round)),
                (h, racer, round) -> h.lock(1000 + round, "a", "racer-" + racer));
        assertThat(store.vms()).allSatisfy(r -> assertThat(r.lock()).startsWith("racer-"));
    }

    interface RaceStep {
        void run(ClusterStore handle, int racer, int round);
    }

    /**
     * Per round: four threads, each with its own handle on the store, start {@code step} at the
     * same moment; exactly one may succeed, the others must be refused with {@code refusal}.
     */
    private void exactlyOneWinsEachRound(int rounds, Reason refusal, java.util.function.IntConsumer setUp, RaceStep step)
            throws Exception {
        int racers = 4;
        List<ClusterStore> handles = new ArrayList<>();
        for (int i = 0; i < racers; i++) {
            handles.add(track(reopen()));
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(racers)) {
            for (int round = 0; round < rounds; round++) {
                setUp.accept(round);
                CountDownLatch go = new CountDownLatch(1);
                AtomicInteger winners = new AtomicInteger();
                List<Future<?>> tries = new ArrayList<>();
                for (int i = 0; i < racers; i++) {
                    int racer = i;
                    int r = round;
                    tries.add(pool.submit(() -> {
                        go.await();
                        try {
                            step.run(handles.get(racer), racer, r);
                            winners.incrementAndGet();
                        } catch (ClusterException e) {
                            assertThat(e.reason()).as(e.getMessage()).isEqualTo(refusal);
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> f : tries) {
                    f.get();
                }
                assertThat(winners.get()).as("winners of round %d", round).isEqualTo(1);
            }
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void processesAndThreadsNeverHoldOneLockTogether() throws Exception {
        int iterations = iterationsAcrossProcesses();
        store.create("a", 100, JSON.createObjectNode().put("name", "contended"));
        Path marker = tmp.resolve("holder");
        Path go = tmp.resolve("go");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                LockHammer.class.getName(), spec(), "100", "a", "h-child", String.valueOf(iterations),
                marker.toString(), go.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> childLines = new ArrayList<>();
        CompletableFuture<Void> ready = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (childLines) {
                        childLines.add(line);
                    }
                    if (line.equals("READY")) {
                        ready.complete(null);
                    }
                }
            } catch (Exception e) {
                ready.completeExceptionally(e);
            }
            ready.completeExceptionally(new IllegalStateException("child ended before READY"));
        });
        ready.get(60, TimeUnit.SECONDS);

        List<LockHammer.Result> results = new ArrayList<>();
        try (ExecutorService threads = Executors.newFixedThreadPool(2)) {
            List<Future<LockHammer.Result>> local = new ArrayList<>();
            Files.createFile(go);
            for (String me : List.of("h-t1", "h-t2")) {
                ClusterStore own = track(reopen());
                local.add(threads.submit(() -> LockHammer.run(own, 100, "a", me, iterations, marker)));
            }
            for (Future<LockHammer.Result> f : local) {
                results.add(f.get());
            }
        }
        assertThat(child.waitFor(120, TimeUnit.SECONDS)).as("child finished").isTrue();
        reader.join(5_000);
        assertThat(child.exitValue()).as("child exit value; output " + childLines).isZero();
        synchronized (childLines) {
            results.add(LockHammer.Result.parse(childLines.stream().filter(l -> l.startsWith("RESULT ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no RESULT from child: " + childLines))));
        }
        for (LockHammer.Result r : results) {
            assertThat(r.violations()).as(r.me() + ": " + r.firstProblem()).isZero();
            assertThat(r.acquired() + r.refused()).as(r.me()).isEqualTo(iterations);
            assertThat(r.acquired()).as(r.me() + " acquired at least once").isPositive();
        }
        assertThat(results.stream().mapToInt(LockHammer.Result::refused).sum()).as("they really contended").isPositive();
        assertThat(marker).doesNotExist();
        assertThat(store.vm(100).orElseThrow().locked()).isFalse();
        System.out.println(getClass().getSimpleName() + " lock race: " + results);
    }

    /** Rounds per racer in the cross-process race: enough to collide, few enough for a slower store. */
    int iterationsAcrossProcesses() {
        return 200;
    }

    // --- liveness ---

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aLivenessClaimHoldsWhileKeptAndGoesWhenGivenUp() throws Exception {
        assertThat(store.liveNodes()).isEmpty();
        try (NodeLease a = store.announce("a", Duration.ofSeconds(2))) {
            assertThat(a.held()).isTrue();
            assertThat(track(reopen()).liveNodes()).containsExactly("a");
            Thread.sleep(3_000); // longer than the time to live: the background renewal must have kept it
            assertThat(store.liveNodes()).containsExactly("a");
            assertThat(a.held()).isTrue();
        }
        assertThat(store.liveNodes()).isEmpty();
        failure(Reason.UNKNOWN_NODE, () -> store.announce("zz", Duration.ofSeconds(2)));
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void theClaimOfAKilledProcessLapsesAfterItsTimeToLive() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                LeaseHolder.class.getName(), spec(), "b", "2").redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(r.readLine()).isEqualTo("HELD");
        }
        assertThat(store.liveNodes()).containsExactly("b");
        child.destroyForcibly(); // kill -9: nobody gives the claim up
        child.waitFor(10, TimeUnit.SECONDS);
        long killed = System.nanoTime();
        while (store.liveNodes().contains("b")) {
            assertThat(Duration.ofNanos(System.nanoTime() - killed)).as("the claim lapses").isLessThan(Duration.ofSeconds(30));
            Thread.sleep(100);
        }
        System.out.printf("%s: a killed holder's claim lapsed %d ms after the kill (time to live 2 s)%n",
                getClass().getSimpleName(), Duration.ofNanos(System.nanoTime() - killed).toMillis());
    }
}
