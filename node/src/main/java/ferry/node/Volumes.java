package ferry.node;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Volume files handled through qemu-img: create, inspect, remove. */
public final class Volumes {
    /** What qemu-img says of a volume; {@code backingFile} non-null means a linked clone. */
    public record Info(Path path, String format, long virtualSize, long actualSize, String backingFile) {
        public boolean isLinkedClone() {
            return backingFile != null;
        }
    }

    private final Path qemuImg;

    public Volumes(Path qemuImg) {
        if (qemuImg == null || !Files.isExecutable(qemuImg)) {
            throw new NodeException("qemu-img not found; install qemu-utils (scripts/install-deps)");
        }
        this.qemuImg = qemuImg;
    }

    public Path create(Storage storage, String volume, String format, long sizeBytes) {
        Path p = storage.volumePath(volume);
        if (Files.exists(p)) {
            throw new VolumeExists(storage.id(), volume, null);
        }
        run("create", "-q", "-f", format, p.toString(), Long.toString(sizeBytes));
        return p;
    }

    /** A copy-on-write volume on top of {@code backing}: what the seed calls a linked clone. */
    public Path createLinkedClone(Storage storage, String volume, Path backing, String backingFormat) {
        Path p = storage.volumePath(volume);
        run("create", "-q", "-f", "qcow2", "-b", backing.toString(), "-F", backingFormat, p.toString());
        return p;
    }

    public Info info(Path volume) {
        if (!Files.exists(volume)) {
            throw new NodeException("volume " + volume + " does not exist");
        }
        // -U: the volume may be in use by a running QEMU, which holds a lock on it
        String out = run("info", "-U", "--output=json", volume.toString());
        try {
            JsonNode j = ferry.qapi.QapiJson.mapper().readTree(out); // QEMU's JSON, read as QMP's is
            JsonNode backing = j.get("backing-filename");
            return new Info(volume, j.path("format").asText(), j.path("virtual-size").asLong(),
                    j.path("actual-size").asLong(), backing == null ? null : backing.asText());
        } catch (IOException e) {
            throw new NodeException("qemu-img info " + volume + " printed no JSON: " + out, e);
        }
    }

    public void delete(Path volume) {
        try {
            Files.deleteIfExists(volume);
        } catch (IOException e) {
            throw new NodeException("cannot remove volume " + volume + ": " + e.getMessage(), e);
        }
    }

    private String run(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(qemuImg.toString());
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new NodeException("qemu-img " + args[0] + " did not finish within 60 s");
            }
            if (p.exitValue() != 0) {
                throw new NodeException("qemu-img " + String.join(" ", args) + " failed: " + out.strip());
            }
            return out;
        } catch (IOException e) {
            throw new NodeException("cannot run " + qemuImg + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodeException("interrupted while running qemu-img");
        }
    }
}
