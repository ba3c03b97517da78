package ferry.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's two commands as the first ones on a machine that lacks what they need: as
 * another user they name the one command to run first (exit 2); as root they install it.
 * "Lacks" is a PATH without QEMU and Maven (the host itself is left as it is).
 */
class FirstCommandTest {
    private static final Path REPO = Path.of(System.getProperty("ferry.repo"));
    private static final Set<String> HIDDEN = Set.of("qemu-system-x86_64", "qemu-img", "mvn");

    /** A folder of links to every command of /usr/bin and /bin except QEMU's and Maven's. */
    private static Path pathWithoutQemu(Path dir) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin"));
        for (String d : List.of("/usr/bin", "/bin", "/usr/sbin", "/sbin")) {
            try (Stream<Path> s = Files.list(Path.of(d))) {
                for (Path p : s.toList()) {
                    Path link = bin.resolve(p.getFileName().toString());
                    if (!HIDDEN.contains(p.getFileName().toString()) && !Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        Files.createSymbolicLink(link, p);
                    }
                }
            }
        }
        openToAll(dir);
        openToAll(bin);
        return bin;
    }

    private static void openToAll(Path p) throws IOException {
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static Command run(List<String> cmd) throws Exception {
        return Command.run(new ProcessBuilder(cmd));
    }

    /** {@code cmd} as user nobody with PATH {@code path}. */
    private static List<String> asNobody(Path path, String... cmd) {
        List<String> all = new ArrayList<>(List.of("/usr/sbin/runuser", "-u", "nobody", "--", "/usr/bin/env", "-i",
                "PATH=" + path, "HOME=/tmp"));
        all.addAll(List.of(cmd));
        return all;
    }

    private static void assumeRootWithRunuser() {
        boolean root = "root".equals(System.getProperty("user.name"));
        if (!root || !Files.isExecutable(Path.of("/usr/sbin/runuser"))) {
            System.out.println("SKIPPED: needs root and runuser to act as another user");
        }
        assumeTrue(root && Files.isExecutable(Path.of("/usr/sbin/runuser")), "needs root and runuser");
    }

    @Test
    void asAnotherUserBothCommandsNameTheOneCommandToRunFirst(@TempDir Path dir) throws Exception {
        assumeRootWithRunuser();
        Path path = pathWithoutQemu(dir);
        String install = REPO.resolve("scripts/install-deps").toString();
        Command demo = run(asNobody(path, REPO.resolve("ferry").toString(), "demo"));
        assertThat(demo.code()).as(demo.err()).isEqualTo(2);
        assertThat(demo.err()).contains("ferry: missing").contains("QEMU >= 10").contains("maven")
                .containsPattern("Run this once first \\(it needs root\\): (sudo|su -c) " + install);
        assertThat(demo.err().lines()).hasSize(1);
        Command test = run(asNobody(path, REPO.resolve("scripts/test").toString()));
        assertThat(test.code()).as(test.err()).isEqualTo(2);
        assertThat(test.err()).contains("scripts/test: missing").contains("QEMU >= 10").contains(install);
    }

    @Test
    void asRootTheyInstallWhatIsMissingThemselves(@TempDir Path dir) throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")), "needs root");
        // a copy of the scripts whose install-deps is a stand-in: the real one would call apt-get on this host
        Path scripts = Files.createDirectories(dir.resolve("repo/scripts"));
        Files.copy(REPO.resolve("scripts/ensure-deps"), scripts.resolve("ensure-deps"));
        Path installed = dir.resolve("installed");
        Files.writeString(scripts.resolve("install-deps"), "#!/usr/bin/env bash\n"
                + "if [ \"${1:-}\" = --check ]; then [ -e " + installed + " ] && exit 0; echo 'QEMU >= 10'; exit 1; fi\n"
                + "echo 'install-deps: installing QEMU' >&2; touch " + installed + "\n");
        openToAll(scripts.resolve("install-deps"));
        openToAll(scripts.resolve("ensure-deps"));
        Command r = run(List.of(scripts.resolve("ensure-deps").toString(), "ferry", "demo"));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("ferry: missing QEMU >= 10; installing it first with scripts/install-deps")
                .contains("install-deps: installing QEMU");
        assertThat(installed).exists();
        r = run(List.of(scripts.resolve("ensure-deps").toString(), "ferry", "demo"));
        assertThat(r.code()).isZero();
        assertThat(r.err()).as("nothing to say once it is there").isEmpty();
    }

    @Test
    void onThisHostNothingIsMissing() throws Exception {
        Command r = run(List.of(REPO.resolve("scripts/install-deps").toString(), "--check", "all"));
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).isEmpty();
    }
}
