package ferry.node;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The QEMU system emulator this host runs guests with, and its version. */
public record QemuBinary(Path path, int major, int minor, int micro, String versionLine) {
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

    public static QemuBinary probe(Path p) {
        try {
            Process proc = new ProcessBuilder(p.toString(), "--version").redirectErrorStream(true).start();
            String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!proc.waitFor(10, TimeUnit.SECONDS)) {
                proc.destroyForcibly();
            }
            Matcher m = VERSION.matcher(out);
            if (!m.find()) {
                throw new NodeException(p + " --version printed no version: " + out.strip());
            }
            return new QemuBinary(p, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    m.group(3) == null ? 0 : Integer.parseInt(m.group(3)), out.lines().findFirst().orElse("").strip());
        } catch (IOException e) {
            throw new NodeException("cannot run " + p + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NodeException("interrupted while probing " + p);
        }
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
