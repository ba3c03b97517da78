package ferry.testkit;

import ferry.node.NodeException;
import ferry.node.QemuBinary;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian bookworm's own QEMU 7.2 beside the QEMU 10 installed from backports, for nodes of mixed
 * versions: its packages (qemu-system-x86, -common, -data) are downloaded through apt into a
 * cache and unpacked with {@code dpkg-deb -x}, never installed. Its modules (TCG among them) come
 * from its own folder through QEMU_MODULE_DIR, its firmware from its own data folder first.
 */
public final class Qemu72 {
    /** The Debian packages whose 7.2 build is unpacked. */
    static final List<String> PACKAGES = List.of("qemu-system-x86", "qemu-system-common", "qemu-system-data");
    /** Where scripts/install-deps leaves the packages (read only here). */
    static final Path SYSTEM_CACHE = Path.of("/var/cache/ferry/qemu-7.2/debs");
    private static final String VERSION_PREFIX = "1:7.2+dfsg-";

    private Qemu72() {}

    /** The unpacked folder: {@code $FERRY_CACHE/qemu-7.2/root}, by default under ~/.cache/ferry. */
    public static Path root() {
        return BootblockGuest.cacheDir().resolve("qemu-7.2").resolve("root");
    }

    /**
     * QEMU 7.2, unpacked on first use (downloaded first when neither cache holds its packages).
     * Throws {@link NodeException} saying why when it cannot be had (no apt, no such version in the
     * host's package sources, a library it needs is missing): tests skip with that reason.
     */
    public static synchronized QemuBinary provide() {
        Path root = root();
        Path binary = root.resolve("usr/bin/qemu-system-x86_64");
        try {
            if (!Files.isExecutable(binary)) {
                unpack(debs(), root);
            }
        } catch (IOException e) {
            throw new NodeException("QEMU 7.2 is not available: " + e.getMessage(), e);
        }
        String missing = missingLibraries(binary);
        if (!missing.isEmpty()) {
            throw new NodeException("QEMU 7.2 in " + root + " needs libraries this host lacks: " + missing
                    + "; install them with apt-get (they are bookworm's own)");
        }
        QemuBinary q = QemuBinary.of(binary, root.resolve("usr/lib/x86_64-linux-gnu/qemu"), dataDirs(root));
        if (q.major() != 7 || q.minor() != 2) {
            throw new NodeException(binary + " is QEMU " + q.version() + ", not 7.2; remove " + root + " to unpack again");
        }
        return q;
    }

    /**
     * Its own data folder, then the host's SeaBIOS and iPXE folders (Debian ships those in their own
     * packages): with -L given, 7.2 searches only the folders named.
     */
    static List<Path> dataDirs(Path root) {
        List<Path> out = new ArrayList<>(List.of(root.resolve("usr/share/qemu")));
        for (String shared : List.of("/usr/share/seabios", "/usr/lib/ipxe/qemu")) {
            if (Files.isDirectory(Path.of(shared))) {
                out.add(Path.of(shared));
            }
        }
        return out;
    }

    /** The three packages' files: from install-deps' cache, else from ours, else downloaded into ours. */
    private static List<Path> debs() throws IOException {
        List<Path> system = debsIn(SYSTEM_CACHE);
        if (system != null) {
            return system;
        }
        Path mine = BootblockGuest.cacheDir().resolve("qemu-7.2").resolve("debs");
        List<Path> cached = debsIn(mine);
        if (cached != null) {
            return cached;
        }
        Files.createDirectories(mine);
        List<String> cmd = new ArrayList<>(List.of("apt-get", "download", "-q"));
        for (String pkg : PACKAGES) {
            cmd.add(pkg + "=" + version(pkg));
        }
        run(mine, cmd, 300);
        List<Path> got = debsIn(mine);
        if (got == null) {
            throw new IOException("apt-get download left no packages of 7.2 in " + mine);
        }
        return got;
    }

    /** The newest 7.2 build of {@code pkg} the host's package sources offer (bookworm's, not backports'). */
    static String version(String pkg) throws IOException {
        String out = run(Path.of("/"), List.of("apt-cache", "madison", pkg), 60);
        for (String line : out.lines().toList()) {
            String[] cols = line.split("\\|");
            if (cols.length >= 2 && cols[1].strip().startsWith(VERSION_PREFIX)) {
                return cols[1].strip(); // madison lists the newest first
            }
        }
        throw new IOException("the host's package sources offer no " + pkg + " " + VERSION_PREFIX
                + "* (Debian bookworm's); add bookworm's main entry and run apt-get update");
    }

    private static List<Path> debsIn(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return null;
        }
        List<Path> out = new ArrayList<>();
        for (String pkg : PACKAGES) {
            try (var files = Files.list(dir)) {
                files.filter(f -> f.getFileName().toString().startsWith(pkg + "_")
                        && f.getFileName().toString().contains("7.2+dfsg") && f.toString().endsWith(".deb"))
                        .sorted().reduce((x, y) -> y).ifPresent(out::add);
            }
        }
        return out.size() == PACKAGES.size() ? out : null;
    }

    /** Unpacks into a fresh folder beside {@code root}, then renames it: a half-unpacked QEMU is never used. */
    private static void unpack(List<Path> debs, Path root) throws IOException {
        Files.createDirectories(root.getParent());
        Path tmp = Files.createTempDirectory(root.getParent(), "unpack-");
        for (Path deb : debs) {
            run(tmp, List.of("dpkg-deb", "-x", deb.toString(), tmp.toString()), 120);
        }
        try {
            Files.move(tmp, root, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            BuildTool.deleteTree(tmp); // another process unpacked it first
            if (!Files.isDirectory(root)) {
                throw e;
            }
        }
    }

    /** The libraries {@code ldd} cannot find for the binary, comma-separated; empty when all are there. */
    static String missingLibraries(Path binary) {
        try {
            return String.join(", ", run(Path.of("/"), List.of("ldd", binary.toString()), 30).lines()
                    .filter(l -> l.contains("not found")).map(l -> l.strip().split("\\s")[0]).toList());
        } catch (IOException e) {
            return "(ldd failed: " + e.getMessage() + ")";
        }
    }

    private static String run(Path dir, List<String> cmd, long timeoutS) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("cannot run " + cmd.getFirst() + " (" + e.getMessage() + ")", e);
        }
        try {
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(timeoutS, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + out.strip());
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", cmd), e);
        } finally {
            p.destroyForcibly();
        }
    }
}
