package ferry.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The "bootblock" test guest: a 512-byte boot sector (resource {@code bootblock.S}) that, once
 * booted by SeaBIOS, increments one byte in every 4 KiB page of [{@link #REGION_START},
 * region end) forever, printing {@link #BOOT_MARKER} once and {@link #PASS_MARKER} after each
 * pass on COM1. Boot it as a raw disk, e.g.
 * {@code -accel tcg -m 128M -nodefaults -display none -serial file:LOG -drive file=IMG,format=raw,if=ide},
 * and check a dump of the region with {@link PageOracle}.
 *
 * <p>Measured under TCG (QEMU 10.0.2, one vCPU, 2-core host; "dirtying rate" =
 * pages*4096*passes/s; default 99 MiB region = 25,344 pages):
 * <ul>
 *   <li>delay 0: about 320-420 passes/s, i.e. about 33-43 GB/s (8-10 M pages/s);
 *   <li>each delay iteration costs about 4 ns, so the rate is ~1/delay once it dominates:
 *       delay 100,000 gives about 10 MB/s, 20,000 about 50 MB/s, 9,000-10,000 about 100 MB/s
 *       (about one pass per second over 99 MiB).
 * </ul>
 * Host dependent (and slower while QEMU tracks dirty pages); treat as orders of magnitude and
 * re-measure with {@code BootblockCalibration} in the tests.
 */
public final class Bootblock {
    /** First byte of the dirtied region (fixed in the guest). */
    public static final long REGION_START = 0x10_0000L;
    /** Default exclusive end of the region: 100 MiB. Give the guest at least 128 MiB of RAM. */
    public static final long DEFAULT_REGION_END = 100L * 1024 * 1024;
    public static final int PAGE_SIZE = 4096;
    public static final int IMAGE_SIZE = 512;
    /** Image offset of the region end, u32 little endian (see bootblock.S). */
    public static final int REGION_END_OFFSET = 0x1a0;
    /** Image offset of the per-page delay-loop count, u32 little endian; 0 = no delay. */
    public static final int DELAY_OFFSET = 0x1a4;
    /** Image offset of the layout magic {@code "FBB1"}. */
    public static final int MAGIC_OFFSET = 0x1a8;
    /** Written once to COM1 when the guest reaches protected mode. */
    public static final char BOOT_MARKER = 'A';
    /** Written to COM1 after each completed pass over the region. */
    public static final char PASS_MARKER = 'B';

    static final String SOURCE_RESOURCE = "bootblock.S";
    static final byte[] MAGIC = {'F', 'B', 'B', '1'};

    private Bootblock() {}

    /**
     * Assembles the guest into {@code cacheDir} unless an image of the same source is already
     * there, and returns its path. Safe to call concurrently: the image appears atomically.
     */
    public static Path build(Path cacheDir) throws IOException {
        byte[] source = source();
        Path image = cacheDir.resolve("bootblock-" + shortHash(source) + ".img");
        if (isValidImage(image)) {
            return image;
        }
        Files.createDirectories(cacheDir);
        Assembler.assemble(source, image);
        return image;
    }

    /**
     * Returns a copy of the built image with the region end and per-page delay patched in.
     *
     * @param regionEnd exclusive end address, page aligned, above the first page of the region
     * @param delay     delay-loop iterations per page, >= 0
     */
    public static Path image(Path cacheDir, long regionEnd, int delay) throws IOException {
        if (regionEnd % PAGE_SIZE != 0 || regionEnd <= REGION_START || regionEnd > 0xFFFF_F000L) {
            throw new IllegalArgumentException(
                    "regionEnd must be page aligned and in (0x%x, 0xfffff000]: 0x%x".formatted(REGION_START, regionEnd));
        }
        if (delay < 0) {
            throw new IllegalArgumentException("delay must be >= 0: " + delay);
        }
        Path base = build(cacheDir);
        byte[] bytes = patch(Files.readAllBytes(base), regionEnd, delay);
        String name = base.getFileName().toString().replace(".img", "")
                + "-end%x-delay%d.img".formatted(regionEnd, delay);
        Path target = cacheDir.resolve(name);
        if (!isValidImage(target)) {
            AtomicFiles.write(target, bytes);
        }
        return target;
    }

    /** Number of counter pages in a region ending at {@code regionEnd}. */
    public static long pages(long regionEnd) {
        return (regionEnd - REGION_START) / PAGE_SIZE;
    }

    static byte[] patch(byte[] image, long regionEnd, int delay) {
        byte[] copy = image.clone();
        ByteBuffer buf = ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(REGION_END_OFFSET, (int) regionEnd);
        buf.putInt(DELAY_OFFSET, delay);
        return copy;
    }

    static byte[] source() throws IOException {
        try (InputStream in = Bootblock.class.getResourceAsStream(SOURCE_RESOURCE)) {
            if (in == null) {
                throw new IOException("classpath resource ferry/testkit/" + SOURCE_RESOURCE + " is missing");
            }
            return in.readAllBytes();
        }
    }

    /** Checks size, magic and signature, so a truncated or foreign file is never reused. */
    static boolean isValidImage(Path image) throws IOException {
        if (!Files.isRegularFile(image) || Files.size(image) != IMAGE_SIZE) {
            return false;
        }
        return checkImage(Files.readAllBytes(image)) == null;
    }

    /** Returns why {@code image} is not a bootblock image, or null if it is one. */
    static String checkImage(byte[] image) {
        if (image.length != IMAGE_SIZE) {
            return "image is " + image.length + " bytes, expected " + IMAGE_SIZE;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (image[MAGIC_OFFSET + i] != MAGIC[i]) {
                return "no FBB1 magic at offset 0x" + Integer.toHexString(MAGIC_OFFSET) + " (source and offsets out of sync?)";
            }
        }
        if (image[510] != 0x55 || image[511] != (byte) 0xaa) {
            return "no 0x55AA boot signature at offset 510";
        }
        return null;
    }

    static String shortHash(byte[] data) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
            return HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-256 is mandatory", e);
        }
    }
}
