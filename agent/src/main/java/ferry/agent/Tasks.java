package ferry.agent;

import ferry.migration.CancelSignal;
import ferry.migration.Migration;
import ferry.migration.MigrationResult;
import ferry.migration.TaskLog;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The tasks of one agent; each keeps its log in memory and in a file beside the cluster. */
final class Tasks {
    private static final Logger log = LoggerFactory.getLogger(Tasks.class);
    private final Map<String, Task> tasks = new ConcurrentHashMap<>();
    private final AtomicLong seq = new AtomicLong();
    private final ClusterLayout layout;
    private final String node;
    /** Told of each task as it starts (metrics, live views); before its body runs, so they miss nothing. */
    private final List<Consumer<Task>> watchers = new CopyOnWriteArrayList<>();

    Tasks(ClusterLayout layout, String node) {
        this.layout = layout;
        this.node = node;
    }

    String newId(int vmid) {
        return "migrate-" + node + "-" + vmid + "-" + System.currentTimeMillis() + "-" + seq.incrementAndGet();
    }

    /** A log that is also appended to the task's file, line by line; it continues what the file holds. */
    TaskLog newLog(String id) {
        Path file = layout.taskLog(node, id);
        TaskLog taskLog = new TaskLog();
        try {
            if (Files.exists(file)) {
                taskLog.restore(Files.readAllLines(file, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            log.warn("cannot read task log {}: {}", file, e.getMessage());
        }
        taskLog.follow(line -> {
            try {
                Files.createDirectories(file.getParent());
                Files.writeString(file, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
            } catch (IOException e) {
                log.warn("cannot write task log {}: {}", file, e.getMessage());
            }
        });
        return taskLog;
    }

    void watch(Consumer<Task> watcher) {
        watchers.add(watcher);
    }

    Task start(String id, Migration migration, Migration.Prepared prepared, TaskLog taskLog) {
        return run(id, prepared.request().vmid(), prepared.request().target(), prepared.request().policy(), taskLog,
                cancel -> migration.execute(prepared, cancel));
    }

    /**
     * Resolves an open journal of this node that no task of this agent runs (the agent crashed or
     * stopped during it), as a task of the same id: followers of the old task find it again.
     *
     * @param journalOpen asks the store whether the journal is still open
     */
    synchronized Optional<Task> recover(String id, int vmid, String target, Migration migration,
                                        BooleanSupplier journalOpen) {
        Task running = tasks.get(id);
        if (running != null && !running.result().isDone()) {
            return Optional.empty();
        }
        // asked again now: a task that ended just after the journal was listed closed it before its
        // result was done, and recovering it would replace its record with a failure
        if (running != null && !journalOpen.getAsBoolean()) {
            return Optional.empty();
        }
        TaskLog taskLog = newLog(id);
        return Optional.of(run(id, vmid, target, null, taskLog, cancel -> migration.recover(id, taskLog, cancel)));
    }

    private synchronized Task run(String id, int vmid, String target, String policy, TaskLog taskLog,
                                  java.util.function.Function<CancelSignal, MigrationResult> body) {
        CancelSignal cancel = new CancelSignal();
        CompletableFuture<MigrationResult> result = new CompletableFuture<>();
        Task t = new Task(id, vmid, target, policy, System.currentTimeMillis(), taskLog, cancel, result);
        tasks.put(id, t);
        for (Consumer<Task> w : watchers) {
            w.accept(t);
        }
        Thread.ofPlatform().name("task " + id).start(() -> {
            try {
                result.complete(body.apply(cancel));
            } catch (Throwable e) {
                taskLog.error("task failed: %s", e.toString());
                result.completeExceptionally(e);
            }
        });
        return t;
    }

    Optional<Task> get(String id) {
        return Optional.ofNullable(tasks.get(id));
    }

    /** Every task this agent ran since it started, running or ended. */
    List<Task> all() {
        return List.copyOf(tasks.values());
    }

    List<Task> running() {
        return tasks.values().stream().filter(t -> !t.result().isDone()).toList();
    }

    /**
     * Waits for running tasks to reach their end: a migration finishes or cleans up first; a
     * hand-over waiting for its target gives up waiting and is finished at the agent's next start.
     */
    void awaitQuiet(Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        for (Task t : running()) {
            t.cancel().agentStopping();
            t.log().info("agent is stopping; the migration will finish or clean up first");
            try {
                t.result().get(Math.max(1, (deadline - System.nanoTime()) / 1_000_000),
                        java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (Exception ignored) {
                // the task reports its own outcome
            }
        }
    }
}
