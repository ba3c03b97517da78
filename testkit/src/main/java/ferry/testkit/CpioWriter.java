package ferry.testkit;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;

/**
 * Writes a cpio archive in the "newc" format (the one the Linux kernel unpacks as an initramfs,
 * {@code cpio -H newc}): each entry is a 110-byte ASCII header ({@code 070701} and thirteen
 * 8-digit hex fields), the NUL-terminated name padded to 4 bytes, then the data padded to 4
 * bytes; a {@code TRAILER!!!} entry ends the archive. Owners are root, times zero, inodes
 * sequential, so the same entries always give the same bytes. Names are relative
 * ({@code bin/sh}, not {@code /bin/sh}); add parent directories before their children.
 */
public final class CpioWriter implements AutoCloseable {
    public static final int S_IFDIR = 0040000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFLNK = 0120000;
    public static final int S_IFCHR = 0020000;
    static final String MAGIC = "070701";
    static final String TRAILER = "TRAILER!!!";

    private final OutputStream out;
    private final Set<String> names = new HashSet<>();
    private long written;
    private int nextInode = 1;
    private boolean finished;

    public CpioWriter(OutputStream out) {
        this.out = out;
    }

    public CpioWriter directory(String name, int permissions) throws IOException {
        return entry(name, S_IFDIR | permissions, 2, 0, 0, new byte[0]);
    }

    public CpioWriter file(String name, int permissions, byte[] data) throws IOException {
        return entry(name, S_IFREG | permissions, 1, 0, 0, data);
    }

    /** A symbolic link; its data is the target. */
    public CpioWriter symlink(String name, String target) throws IOException {
        return entry(name, S_IFLNK | 0777, 1, 0, 0, target.getBytes(StandardCharsets.UTF_8));
    }

    public CpioWriter charDevice(String name, int permissions, int major, int minor) throws IOException {
        return entry(name, S_IFCHR | permissions, 1, major, minor, new byte[0]);
    }

    private CpioWriter entry(String name, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data)
            throws IOException {
        if (finished) {
            throw new IllegalStateException("archive already finished");
        }
        if (name.isEmpty() || name.startsWith("/") || name.equals(TRAILER) || name.contains("\0")) {
            throw new IllegalArgumentException("bad cpio entry name: '" + name + "'");
        }
        if ((mode & ~0170000 & ~07777) != 0) {
            throw new IllegalArgumentException("bad mode 0" + Integer.toOctalString(mode) + " for " + name);
        }
        if (!names.add(name)) {
            throw new IllegalArgumentException("duplicate cpio entry: " + name);
        }
        header(nextInode++, mode, nlink, data.length, rdevMajor, rdevMinor, name);
        write(data);
        pad();
        return this;
    }

    private void header(int inode, int mode, int nlink, long size, int rdevMajor, int rdevMinor, String name)
            throws IOException {
        byte[] nameBytes = (name + "\0").getBytes(StandardCharsets.UTF_8);
        if (size > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(name + " is too large for newc: " + size + " bytes");
        }
        StringBuilder h = new StringBuilder(110).append(MAGIC);
        // ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
        for (long field : new long[] {inode, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0}) {
            h.append(String.format("%08x", field));
        }
        write(h.toString().getBytes(StandardCharsets.US_ASCII));
        write(nameBytes);
        pad();
    }

    private void write(byte[] bytes) throws IOException {
        out.write(bytes);
        written += bytes.length;
    }

    private void pad() throws IOException {
        while (written % 4 != 0) {
            out.write(0);
            written++;
        }
    }

    /** Writes the trailer; the stream stays open. */
    public void finish() throws IOException {
        if (!finished) {
            header(0, 0, 1, 0, 0, 0, TRAILER);
            finished = true;
            out.flush();
        }
    }

    /** Finishes the archive and closes the stream. */
    @Override
    public void close() throws IOException {
        try {
            finish();
        } finally {
            out.close();
        }
    }
}
