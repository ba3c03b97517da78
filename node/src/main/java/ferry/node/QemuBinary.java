package ferry.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The QEMU system emulator a node runs guests with, and its version. Besides the installed one it
 * may be another installation (e.g. an older QEMU unpacked into a folder): {@code moduleDir} is
 * then its module folder (set as QEMU_MODULE_DIR for its processes only; TCG is a module in
 * Debian's 7.2) and {@code dataDirs} its firmware folders, searched first ({@code -L}).
 */
public record QemuBinary(Path path, int major, int minor, int micro, String versionLine, Path moduleDir,
                         List<Path> dataDirs) {
    public QemuBinary {
        dataDirs = dataDirs == null ? List.of() : List.copyOf(dataDirs);
    }

    /** The emulator Ferry looks for; {@code FERRY_QEMU} overrides it with a path. */
    public static final String DEFAULT_NAME = "qemu-system-x86_64";
    private static final Pattern VERSION = Pattern.compile("version (\\d+)\\.(\\d+)(?:\\.(\\d+))?");

    public static QemuBinary find() {
        String override = System.getenv("FERRY_QEMU");
        Path p = override != null && !override.isBlank() ? Path.of(override) : onPath(DEFAULT_NAME);
        if (p == null || !Files.isExecutable(p)) {
            throw new NodeException("QEMU not found (" + (override != null ? "FERRY_QEMU=" + override : DEFAULT_NAME
                    + " is not on PATH") + "); install it with scripts/install-deps (QEMU 10 from bookworm-backports)");
        }
        return probe(p);
    }

    /**
     * The QEMU of a node's configuration: its own installation when it has one, else the installed one.
     * A configured binary that does not run is an error naming it (no fallback to another QEMU).
     */
    public static QemuBinary of(Path binary, Path moduleDir, List<Path> dataDirs) {
        if (binary == null) {
            return find();
        }
        if (!Files.isExecutable(binary)) {
            throw new NodeException("the configured QEMU " + binary + " is not an executable file; fix it with "
                    + "'ferry cluster set-qemu' or install it there");
        }
        for (Path d : dataDirs == null ? List.<Path>of() : dataDirs) {
            if (!Files.isDirectory(d)) {
                throw new NodeException("QEMU data folder " + d + " (of " + binary + ") does not exist");
            }
        }
        if (moduleDir != null && !Files.isDirectory(moduleDir)) {
            throw new NodeException("QEMU module folder " + moduleDir + " (of " + binary + ") does not exist");
        }
        return probe(binary, moduleDir, dataDirs);
    }

    public static QemuBinary probe(Path p) {
        return probe(p, null, List.of());
    }

    static QemuBinary probe(Path p, Path moduleDir, List<Path> dataDirs) {
        try {
            ProcessBuilder pb = new ProcessBuilder(p.toString(), "--version").redirectErrorStream(true);
            environment(pb.environment(), moduleDir);
            Process proc = pb.start();
            String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!proc.waitFor(10, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
            }
            Matcher m = VERSION.matcher(out);
            if (!m.find()) {
                throw new NodeException(p + " --version printed no version: " + out.strip());
            }
            return new QemuBinary(p, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    m.group(3) == null ? 0 : Integer.parseInt(m.group(3)), out.lines().findFirst().orElse("").strip(),
                    moduleDir, dataDirs);
        } catch (IOException e) {
            throw new NodeException("cannot run " + p + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodeException("interrupted while probing " + p);
        }
    }

    /** Sets what this QEMU's processes need in their environment (its module folder), for them alone. */
    public void environment(java.util.Map<String, String> env) {
        environment(env, moduleDir);
    }

    private static void environment(java.util.Map<String, String> env, Path moduleDir) {
        if (moduleDir != null) {
            env.put("QEMU_MODULE_DIR", moduleDir.toString());
        }
    }

    /** The command-line arguments that point QEMU at its own data folders ({@code -L}), first. */
    public List<String> dataArgs() {
        List<String> out = new java.util.ArrayList<>();
        for (Path d : dataDirs) {
            out.add("-L");
            out.add(d.toString());
        }
        return out;
    }

    public String version() {
        return major + "." + minor + "." + micro;
    }

    public boolean atLeast(int wantMajor, int wantMinor) {
        return major > wantMajor || major == wantMajor && minor >= wantMinor;
    }

    /** qemu-img from the same folder as the emulator, else from PATH. */
    public Path qemuImg() {
        Path sibling = path.resolveSibling("qemu-img");
        return Files.isExecutable(sibling) ? sibling : onPath("qemu-img");
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
