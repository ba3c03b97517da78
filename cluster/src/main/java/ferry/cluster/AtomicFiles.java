package ferry.cluster;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** Durable file writes: temp file + fsync + atomic rename + fsync of the folder. */
public final class AtomicFiles {
    /** Prefix of temp files; never taken for a record. */
    static final String TEMP_PREFIX = ".tmp-";

    private AtomicFiles() {}

    /** Replaces {@code target} with {@code bytes}; readers see the old or the new file, never a part. */
    public static void write(Path target, byte[] bytes, Set<PosixFilePermission> mode) throws IOException {
        Path folder = target.getParent();
        Path tmp = folder.resolve(TEMP_PREFIX + target.getFileName() + "-"
                + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextLong()));
        FileAttribute<?>[] attrs = mode != null && posix()
                ? new FileAttribute<?>[] {PosixFilePermissions.asFileAttribute(mode)}
                : new FileAttribute<?>[0];
        try {
            try (FileChannel ch = FileChannel.open(tmp,
                    EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE), attrs)) {
                writeFully(ch, bytes);
                ch.force(true);
            }
            rename(tmp, target);
            fsyncFolder(folder);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Renames {@code source} to {@code target} (one rename(2)) and makes both folders durable. */
    static void move(Path source, Path target) throws IOException {
        rename(source, target);
        fsyncFolder(target.getParent());
        if (!source.getParent().equals(target.getParent())) {
            fsyncFolder(source.getParent());
        }
    }

    static void delete(Path file) throws IOException {
        Files.delete(file);
        fsyncFolder(file.getParent());
    }

    /**
     * Appends {@code line} (newline-terminated) to {@code file} and fsyncs it. A torn last line
     * from a crashed earlier append (no trailing newline, so never acknowledged) is cut off first.
     *
     * @return the number of bytes of a torn tail that were cut off
     */
    static long appendLine(Path file, byte[] line) throws IOException {
        boolean created = !Files.exists(file);
        long cut = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            long size = ch.size();
            long end = completeLinesEnd(ch, size);
            if (end < size) {
                ch.truncate(end);
                cut = size - end;
            }
            ch.position(end);
            writeFully(ch, line);
            ch.force(true);
        }
        if (created) {
            fsyncFolder(file.getParent());
        }
        return cut;
    }

    static void fsyncFolder(Path folder) throws IOException {
        try (FileChannel ch = FileChannel.open(folder, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    static void createFolders(Path folder) throws IOException {
        Files.createDirectories(folder);
    }

    /** Offset just past the last newline (0 if none). */
    private static long completeLinesEnd(FileChannel ch, long size) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4096);
        long pos = size;
        while (pos > 0) {
            int n = (int) Math.min(buf.capacity(), pos);
            buf.clear().limit(n);
            long from = pos - n;
            while (buf.hasRemaining()) {
                if (ch.read(buf, from + buf.position()) < 0) {
                    throw new IOException("file shrank while reading");
                }
            }
            for (int i = n - 1; i >= 0; i--) {
                if (buf.get(i) == '\n') {
                    return from + i + 1;
                }
            }
            pos = from;
        }
        return 0;
    }

    private static void rename(Path source, Path target) throws IOException {
        try {
            Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot rename " + source + " to " + target
                    + " atomically; the cluster folder must be on one file system", e);
        }
    }

    private static void writeFully(FileChannel ch, byte[] bytes) throws IOException {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static boolean posix() {
        return FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
    }
}
