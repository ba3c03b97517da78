package ferry.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

/**
 * The parts of the "linux-stress" test guest: Debian's cloud kernel (package
 * {@code linux-image-cloud-amd64}, used from /boot as it is) and an initramfs we build: busybox
 * from {@code busybox-static}, our init script (resource {@code linux-stress-init.sh}) and our
 * stressor (resource {@code stress.c}, compiled with {@code gcc -static}). Builds are cached in
 * the cache directory by hash of their inputs and published atomically; see
 * {@link LinuxStressGuest} for starting QEMU with them and reading what the guest prints.
 */
public final class LinuxStress {
    /** Overrides the kernel image (default: the newest /boot/vmlinuz-*-cloud-amd64). */
    public static final String KERNEL_ENV = "FERRY_KERNEL";
    public static final Path BUSYBOX = Path.of("/bin/busybox");
    static final Path BOOT = Path.of("/boot");
    static final String STRESS_RESOURCE = "stress.c";
    static final String INIT_RESOURCE = "linux-stress-init.sh";
    static final String DISKWRITER_RESOURCE = "diskwriter.c";
    /** The cloud kernel's modules /dev/vda needs, in load order (it builds virtio and virtio-blk as modules). */
    static final List<String> DISK_MODULES = List.of("drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko",
            "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
            "drivers/virtio/virtio_pci.ko", "drivers/block/virtio_blk.ko");
    /** Busybox applets linked in /bin: those the init script uses, and a few for debugging. */
    static final List<String> APPLETS = List.of("sh", "mount", "cat", "cut", "uname", "ls", "dmesg", "sleep", "free",
            "insmod");
    /** Bump when the initramfs layout changes, so cached archives are rebuilt. */
    static final int LAYOUT_VERSION = 2;
    static final String INSTALL_HINT = "run scripts/install-deps as root";
    private static final Pattern NUMBER = Pattern.compile("\\d+");
    private static final long TOOL_TIMEOUT_SECONDS = 120;

    private LinuxStress() {}

    /** The kernel image to boot; throws, naming what to install, if there is none. */
    public static Path kernel() {
        String override = System.getenv(KERNEL_ENV);
        Path k = override != null && !override.isBlank() ? Path.of(override) : newestCloudKernel(BOOT);
        if (k == null) {
            throw new IllegalStateException("no Debian cloud kernel (" + BOOT + "/vmlinuz-*-cloud-amd64) for the "
                    + "linux-stress guest: install linux-image-cloud-amd64 (" + INSTALL_HINT + "), or set "
                    + KERNEL_ENV + " to a bzImage");
        }
        if (!Files.isRegularFile(k) || !Files.isReadable(k)) {
            throw new IllegalStateException("the linux-stress kernel " + k + " is not a readable file"
                    + (override != null && !override.isBlank() ? " (from " + KERNEL_ENV + ")" : "")
                    + "; QEMU must be able to read it");
        }
        return k;
    }

    /** The newest {@code vmlinuz-*-cloud-amd64} in {@code boot}, by version, or null. */
    static Path newestCloudKernel(Path boot) {
        List<Path> found = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(boot, "vmlinuz-*-cloud-amd64")) {
            for (Path p : ds) {
                found.add(p);
            }
        } catch (IOException e) {
            return null;
        }
        return found.stream().max(Comparator.comparing((Path p) -> p.getFileName().toString(), LinuxStress::compareVersions))
                .orElse(null);
    }

    /** Compares the numbers in two kernel file names in order (6.1.0-9 < 6.1.0-56). */
    static int compareVersions(String a, String b) {
        Matcher ma = NUMBER.matcher(a);
        Matcher mb = NUMBER.matcher(b);
        while (true) {
            boolean ha = ma.find();
            boolean hb = mb.find();
            if (!ha || !hb) {
                return Boolean.compare(ha, hb);
            }
            int c = new java.math.BigInteger(ma.group()).compareTo(new java.math.BigInteger(mb.group()));
            if (c != 0) {
                return c;
            }
        }
    }

    /** The kernel's release, e.g. {@code 6.1.0-56-cloud-amd64}, from its file name. */
    static String kernelRelease(Path kernel) {
        String n = kernel.getFileName().toString();
        return n.startsWith("vmlinuz-") ? n.substring("vmlinuz-".length()) : n;
    }

    /** Null if the guest can be built and booted here, else why not (and what to install). */
    public static String unavailableReason() {
        try {
            kernel();
        } catch (IllegalStateException e) {
            return e.getMessage();
        }
        String bb = busyboxProblem();
        if (bb != null) {
            return bb;
        }
        try {
            if (!Files.isRegularFile(cachedStressBinary(LinuxStressGuest.cacheDir())) && onPath("gcc") == null) {
                return "gcc is not on PATH, so the linux-stress guest's stressor cannot be compiled: install gcc and "
                        + "libc6-dev (" + INSTALL_HINT + ")";
            }
        } catch (IOException e) {
            return "cannot read the stressor's source: " + e.getMessage();
        }
        return null;
    }

    static String busyboxProblem() {
        if (!Files.isRegularFile(BUSYBOX) || !Files.isReadable(BUSYBOX)) {
            return BUSYBOX + " is missing: install busybox-static (" + INSTALL_HINT + ")";
        }
        try {
            if (!isStaticElf(Files.readAllBytes(BUSYBOX))) {
                return BUSYBOX + " is not a static executable (the 'busybox' package?): install busybox-static ("
                        + INSTALL_HINT + ")";
            }
        } catch (IOException e) {
            return "cannot read " + BUSYBOX + ": " + e.getMessage();
        }
        return null;
    }

    /**
     * Compiles the stressor into {@code cacheDir} unless a binary of the same source is there,
     * and returns its path.
     */
    public static Path stressBinary(Path cacheDir) throws IOException {
        return staticBinary(cacheDir, STRESS_RESOURCE);
    }

    /** The guest's block writer (see diskwriter.c), compiled like the stressor. */
    public static Path diskWriterBinary(Path cacheDir) throws IOException {
        return staticBinary(cacheDir, DISKWRITER_RESOURCE);
    }

    private static Path staticBinary(Path cacheDir, String source) throws IOException {
        Path bin = cachedBinary(cacheDir, source);
        if (Files.isRegularFile(bin) && isStaticElf(Files.readAllBytes(bin))) {
            return bin;
        }
        Files.createDirectories(cacheDir);
        Path work = Files.createTempDirectory(cacheDir.toAbsolutePath(), "stress-build-");
        try {
            Path src = work.resolve(source);
            Path out = work.resolve("out");
            Files.write(src, resource(source));
            BuildTool.run(work, List.of("gcc", "-static", "-O2", "-Wall", "-o", out.toString(), src.toString()),
                    "linux-stress", "a static build needs gcc and libc6-dev: " + INSTALL_HINT, TOOL_TIMEOUT_SECONDS);
            if (!isStaticElf(Files.readAllBytes(out))) {
                throw new IOException("gcc did not produce a static executable from " + source);
            }
            AtomicFiles.move(out, bin);
        } finally {
            BuildTool.deleteTree(work);
        }
        return bin;
    }

    static Path cachedStressBinary(Path cacheDir) throws IOException {
        return cachedBinary(cacheDir, STRESS_RESOURCE);
    }

    private static Path cachedBinary(Path cacheDir, String source) throws IOException {
        String prefix = source.equals(STRESS_RESOURCE) ? "linux-stress-bin-" : "linux-stress-" + source + "-bin-";
        return cacheDir.resolve(prefix + Bootblock.shortHash(resource(source)));
    }

    /** The disk modules of {@code kernel}'s release that exist on this host, by file name. */
    static java.util.Map<String, byte[]> diskModules(Path kernel) throws IOException {
        java.util.Map<String, byte[]> out = new java.util.LinkedHashMap<>();
        Path dir = Path.of("/lib/modules", kernelRelease(kernel), "kernel");
        for (String m : DISK_MODULES) {
            Path p = dir.resolve(m);
            if (Files.isRegularFile(p)) {
                out.put(p.getFileName().toString(), Files.readAllBytes(p));
            }
        }
        return out;
    }

    /**
     * Builds the gzipped initramfs for {@code kernel} into {@code cacheDir} unless one of the same
     * inputs (kernel release, busybox, stressor, init script) is there, and returns its path.
     */
    public static Path initramfs(Path cacheDir, Path kernel) throws IOException {
        String bb = busyboxProblem();
        if (bb != null) {
            throw new IOException(bb);
        }
        byte[] busybox = Files.readAllBytes(BUSYBOX);
        byte[] stress = Files.readAllBytes(stressBinary(cacheDir));
        byte[] writer = Files.readAllBytes(diskWriterBinary(cacheDir));
        byte[] init = resource(INIT_RESOURCE);
        java.util.Map<String, byte[]> modules = diskModules(kernel);
        String hash = hash(("layout " + LAYOUT_VERSION + " kernel " + kernelRelease(kernel) + " applets " + APPLETS
                + " modules " + modules.keySet()).getBytes(StandardCharsets.UTF_8), busybox, stress, writer, init);
        Path target = cacheDir.resolve("linux-stress-initramfs-" + hash + ".cpio.gz");
        if (Files.isRegularFile(target) && Files.size(target) > 0) {
            return target;
        }
        AtomicFiles.write(target, gzip(archive(busybox, stress, init, writer, modules)));
        return target;
    }

    /** The uncompressed initramfs. */
    static byte[] archive(byte[] busybox, byte[] stress, byte[] init) throws IOException {
        return archive(busybox, stress, init, null, java.util.Map.of());
    }

    /** The uncompressed initramfs, with the block writer and the disk modules when given. */
    static byte[] archive(byte[] busybox, byte[] stress, byte[] init, byte[] writer, java.util.Map<String, byte[]> modules)
            throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(busybox.length + stress.length + 4096);
        try (CpioWriter cpio = new CpioWriter(bytes)) {
            cpio.directory("dev", 0755)
                    .charDevice("dev/console", 0600, 5, 1)
                    .directory("proc", 0555)
                    .directory("sys", 0555)
                    .directory("bin", 0755)
                    .file("bin/busybox", 0755, busybox);
            for (String applet : APPLETS) {
                cpio.symlink("bin/" + applet, "busybox");
            }
            cpio.file("bin/stress", 0755, stress)
                    .file("init", 0755, init);
            if (writer != null) {
                cpio.file("bin/diskwriter", 0755, writer);
            }
            if (!modules.isEmpty()) {
                cpio.directory("lib", 0755).directory("lib/ferry-modules", 0755);
                for (var m : modules.entrySet()) {
                    cpio.file("lib/ferry-modules/" + m.getKey(), 0644, m.getValue());
                }
            }
        }
        return bytes.toByteArray();
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream(data.length / 2);
        try (GZIPOutputStream gz = new GZIPOutputStream(out, 1 << 16)) {
            gz.write(data);
        }
        return out.toByteArray();
    }

    /** True for an ELF executable without a program interpreter (PT_INTERP), i.e. static. */
    static boolean isStaticElf(byte[] elf) {
        if (elf.length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2) {
            return false; // not a 64-bit ELF
        }
        ByteBuffer b = ByteBuffer.wrap(elf).order(elf[5] == 2 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36));
        int phnum = Short.toUnsignedInt(b.getShort(0x38));
        if (phentsize < 4 || phoff <= 0 || phoff + (long) phentsize * phnum > elf.length) {
            return false;
        }
        for (int i = 0; i < phnum; i++) {
            if (b.getInt((int) (phoff + (long) i * phentsize)) == 3) { // PT_INTERP
                return false;
            }
        }
        return true;
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = LinuxStress.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IOException("classpath resource ferry/testkit/" + name + " is missing");
            }
            return in.readAllBytes();
        }
    }

    private static String hash(byte[]... parts) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) {
                md.update(ByteBuffer.allocate(8).putLong(p.length).array());
                md.update(p);
            }
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("SHA-256 is mandatory", e);
        }
    }

    static Path onPath(String name) {
        String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
        for (String dir : path.split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }


}
