package ferry.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Two JVMs (and two threads with their own store instances in this one) race for one VM's lock. */
class MultiProcessLockTest {
    static final int ITERATIONS = 200;

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void neverTwoHoldersAcrossProcessesAndThreads() throws Exception {
        Path dir = tmp.resolve("cluster");
        DirectoryClusterStore store = DirectoryClusterStore.create(dir, "race", DirectoryClusterStoreTest.NODES);
        store.create("a", 100, JsonNodeFactory.instance.objectNode().put("name", "contended"));
        Path marker = tmp.resolve("holder");
        Path go = tmp.resolve("go");

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                LockHammer.class.getName(), dir.toString(), "100", "a", "h-child", String.valueOf(ITERATIONS),
                marker.toString(), go.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        List<String> childLines = new ArrayList<>();
        CompletableFuture<Void> ready = new CompletableFuture<>();
        Thread reader = Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader r = new BufferedReader(
                    new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
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
                DirectoryClusterStore own = DirectoryClusterStore.open(dir);
                local.add(threads.submit(() -> LockHammer.run(own, 100, "a", me, ITERATIONS, marker)));
            }
            for (Future<LockHammer.Result> f : local) {
                results.add(f.get());
            }
        }
        assertThat(child.waitFor(90, TimeUnit.SECONDS)).as("child finished").isTrue();
        reader.join(5_000);
        assertThat(child.exitValue()).as("child exit value; output " + childLines).isZero();
        synchronized (childLines) {
            String line = childLines.stream().filter(l -> l.startsWith("RESULT ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no RESULT from child: " + childLines));
            results.add(LockHammer.Result.parse(line));
        }

        for (LockHammer.Result r : results) {
            assertThat(r.violations()).as(r.me() + ": " + r.firstProblem()).isZero();
            assertThat(r.acquired() + r.refused()).as(r.me()).isEqualTo(ITERATIONS);
            assertThat(r.acquired()).as(r.me() + " acquired at least once").isPositive();
        }
        assertThat(results.stream().mapToInt(LockHammer.Result::refused).sum())
                .as("the participants really contended").isPositive();
        assertThat(results.stream().filter(r -> r.me().equals("h-child")).findFirst().orElseThrow().refused()
                + results.stream().filter(r -> !r.me().equals("h-child")).mapToInt(LockHammer.Result::acquired).sum())
                .as("the child raced with this JVM").isPositive();
        assertThat(marker).doesNotExist();
        assertThat(store.vm(100).orElseThrow().locked()).isFalse();
        System.out.println("lock race: " + results);
    }
}
