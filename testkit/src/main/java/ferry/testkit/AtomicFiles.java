package ferry.testkit;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Publishes files so that concurrent readers never see a partial one. */
final class AtomicFiles {
    private AtomicFiles() {}

    /** Writes {@code bytes} to a temp file next to {@code target}, then renames it over {@code target}. */
    static void write(Path target, byte[] bytes) throws IOException {
        Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), target.getFileName() + ".", ".tmp");
        try {
            Files.write(tmp, bytes);
            move(tmp, target);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Renames {@code source} over {@code target}. Racing builders produce identical bytes, so
     * whichever rename lands last wins harmlessly.
     */
    static void move(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot atomically rename " + source + " to " + target
                    + " (temp file must be on the same file system)", e);
        }
    }
}
