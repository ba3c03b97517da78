package ferry.cluster;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Liveness claims of the directory store: {@code alive/<node>.json} holds the time until which
 * the node counts as alive, rewritten every third of the lease's time to live. A crashed agent
 * stops rewriting it and its claim lapses on its own; a clean stop deletes it.
 */
final class DirectoryLiveness {
    private static final Logger log = LoggerFactory.getLogger(DirectoryLiveness.class);

    private final Path folder;

    DirectoryLiveness(Path folder) {
        this.folder = folder;
    }

    void createFolder() throws IOException {
        AtomicFiles.createFolders(folder);
    }

    NodeLease announce(String node, Duration ttl) {
        return new FileLease(node, ttl);
    }

    Set<String> liveNodes() throws IOException {
        Set<String> live = new TreeSet<>();
        long now = System.currentTimeMillis();
        try (Stream<Path> files = Files.list(folder)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (!name.endsWith(".json") || name.startsWith(".")) {
                    continue;
                }
                try {
                    if (Json.object(Files.readAllBytes(f)).path("until").asLong() > now) {
                        live.add(name.substring(0, name.length() - ".json".length()));
                    }
                } catch (IOException e) {
                    log.debug("liveness file {} is unreadable ({}); its node counts as down", f, e.getMessage());
                }
            }
        }
        return live;
    }

    private final class FileLease implements NodeLease {
        private final String node;
        private final Duration ttl;
        private final Path file;
        private final ScheduledExecutorService renewer;
        private volatile long heldUntil;
        private volatile int renewals;
        private volatile boolean lost;

        FileLease(String node, Duration ttl) {
            this.node = Names.name("node", node);
            this.ttl = ttl;
            this.file = folder.resolve(node + ".json");
            this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "liveness-" + node);
                t.setDaemon(true);
                return t;
            });
            renew();
            long period = Math.max(50, ttl.toMillis() / 3);
            renewer.scheduleWithFixedDelay(this::renew, period, period, TimeUnit.MILLISECONDS);
        }

        private void renew() {
            long until = System.currentTimeMillis() + ttl.toMillis();
            ObjectNode claim = Json.MAPPER.createObjectNode().put("until", until)
                    .put("pid", ProcessHandle.current().pid());
            try {
                AtomicFiles.write(file, Json.line(claim), null);
                if (lost) {
                    renewals++;
                    lost = false;
                    log.info("node '{}' is alive again in {}", node, folder);
                }
                heldUntil = until;
            } catch (IOException e) {
                if (!lost) {
                    log.warn("node '{}' cannot renew its liveness claim {}: {}", node, file, e.getMessage());
                }
                lost = true;
            }
        }

        @Override
        public boolean held() {
            return !lost && System.currentTimeMillis() < heldUntil;
        }

        @Override
        public int renewals() {
            return renewals;
        }

        @Override
        public void close() {
            renewer.shutdownNow();
            try {
                renewer.awaitTermination(5, TimeUnit.SECONDS);
                Files.deleteIfExists(file);
            } catch (IOException e) {
                log.warn("node '{}' cannot remove its liveness claim {}: {}; it lapses on its own", node, file,
                        e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
