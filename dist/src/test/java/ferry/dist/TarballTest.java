package ferry.dist;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tarball the build makes, unpacked outside the source tree and run from there as an
 * operator would: bin/ferry finds a Java >= 21 by itself, the jars in lib/ are all it needs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TarballTest {
    private static final String VERSION = System.getProperty("ferry.version");
    Path home;

    @BeforeAll
    void unpack(@TempDir Path dir) throws Exception {
        Path tarball = Path.of(System.getProperty("ferry.tarball"));
        assertThat(tarball).exists().hasFileName("ferry-" + VERSION + ".tar.gz");
        Path repo = Path.of(System.getProperty("ferry.repo")).toRealPath();
        assertThat(dir.toRealPath().startsWith(repo)).as("unpacked outside the source tree").isFalse();
        Command tar = run(List.of("tar", "xzf", tarball.toString(), "-C", dir.toString()), Map.of());
        assertThat(tar.code()).as(tar.err()).isZero();
        home = dir.resolve("ferry-" + VERSION);
    }

    /** Runs a command with a bare environment (PATH /usr/bin:/bin, no JAVA_HOME) plus {@code env}. */
    private static Command run(List<String> cmd, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/bin:/bin");
        pb.environment().put("HOME", System.getProperty("java.io.tmpdir"));
        pb.environment().putAll(env);
        return Command.run(pb);
    }

    @Test
    void theTarballHoldsTheLauncherTheJarsAndTheUnit() {
        assertThat(home.resolve("bin/ferry")).isExecutable();
        assertThat(home.resolve("lib/ferry-cli-" + VERSION + ".jar")).exists();
        assertThat(home.resolve("lib")).isDirectoryContaining("glob:**/picocli-*.jar")
                .isDirectoryContaining("glob:**/javalin-*.jar");
        assertThat(home.resolve("systemd/ferry-agent@.service")).content().contains("ExecStart=/opt/ferry/bin/ferry agent "
                + "--node %i").contains("KillMode=process");
        assertThat(home.resolve("README.md")).exists();
    }

    @Test
    void versionRunsWithAJavaFoundByTheLauncher() throws Exception {
        Command r = run(List.of(home.resolve("bin/ferry").toString(), "--version"), Map.of());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo("ferry " + VERSION);
        // through a symlink, as from /usr/local/bin
        Path link = Files.createSymbolicLink(home.getParent().resolve("ferry-link"), home.resolve("bin/ferry"));
        r = run(List.of(link.toString(), "--version"), Map.of("JAVA_HOME", System.getProperty("java.home")));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out().strip()).isEqualTo("ferry " + VERSION);
    }

    /**
     * The first run writes the classes it loaded into an archive under the user's cache, later runs
     * map it; either way stdout holds only the command's output, and a cache that cannot be written
     * only costs the speed.
     */
    @Test
    void laterRunsMapTheClassArchiveOfTheFirst(@TempDir Path user) throws Exception {
        Map<String, String> env = Map.of("HOME", user.toString());
        Command first = run(List.of(home.resolve("bin/ferry").toString(), "--version"), env);
        assertThat(first.code()).as(first.err()).isZero();
        assertThat(first.out().strip()).isEqualTo("ferry " + VERSION);
        assertThat(first.err()).as("the JVM's archive messages stay out of sight").isEmpty();
        Path cache = user.resolve(".cache/ferry");
        List<Path> archives;
        try (var files = Files.list(cache)) {
            archives = files.toList();
        }
        assertThat(archives).as("one complete archive, no temporary file").singleElement()
                .satisfies(a -> assertThat(a.getFileName().toString()).matches("cli-[0-9a-f]{16}\\.jsa"));
        // -Xshare:on after the launcher's options: the JVM fails unless it maps the archive
        Command second = run(List.of(home.resolve("bin/ferry").toString(), "--version"),
                Map.of("HOME", user.toString(), "FERRY_JAVA_OPTS", "-Xshare:on"));
        assertThat(second.code()).as(second.err()).isZero();
        assertThat(second.out().strip()).isEqualTo("ferry " + VERSION);
        try (var files = Files.list(cache)) {
            assertThat(files.toList()).isEqualTo(archives);
        }
        // a cache that is a file, not a folder: no archive, the same answer
        Path notADir = Files.writeString(user.resolve("cache-file"), "");
        Command plain = run(List.of(home.resolve("bin/ferry").toString(), "--version"),
                Map.of("HOME", user.toString(), "FERRY_CACHE", notADir.toString()));
        assertThat(plain.code()).as(plain.err()).isZero();
        assertThat(plain.out().strip()).isEqualTo("ferry " + VERSION);
    }

    @Test
    void shortCommandsRunWithTheQuickJitTierOnly(@TempDir Path user) throws Exception {
        // the JVM prints the options it was given on stdout, before the command's output
        Map<String, String> env = Map.of("HOME", user.toString(), "FERRY_JAVA_OPTS", "-XX:+PrintCommandLineFlags",
                "FERRY_CDS", "0");
        Command version = run(List.of(home.resolve("bin/ferry").toString(), "--version"), env);
        assertThat(version.code()).as(version.err()).isZero();
        assertThat(version.out()).contains("-XX:TieredStopAtLevel=1").contains("ferry " + VERSION);
        // the bench hosts agents for minutes: the optimizing compiler repays itself there
        Command bench = run(List.of(home.resolve("bin/ferry").toString(), "bench", "--help"), env);
        assertThat(bench.code()).as(bench.err()).isZero();
        assertThat(bench.out()).doesNotContain("TieredStopAtLevel").contains("--libvirt");
    }

    @Test
    void aJavaHomeTooOldIsPassedOver(@TempDir Path old) throws Exception {
        // a JAVA_HOME whose java says it is 17 (a script: no JDK 17 needs to be installed for this)
        Path java = Files.createDirectories(old.resolve("bin")).resolve("java");
        Files.writeString(java, "#!/bin/sh\necho '    java.specification.version = 17' >&2\nexit 1\n");
        assertThat(java.toFile().setExecutable(true)).isTrue();
        Command r = run(List.of(home.resolve("bin/ferry").toString(), "--version"), Map.of("JAVA_HOME", old.toString()));
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("ferry " + VERSION);
    }

    /** The installed tree alone runs a live migration end to end (the quick guest: no kernel to boot). */
    @Test
    void theDemoRunsFromTheInstalledTree() throws Exception {
        Command r = run(List.of(home.resolve("bin/ferry").toString(), "demo", "--guest", "bootblock", "--json"), Map.of());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.path("status").asText()).as(r.out()).isEqualTo("completed");
        assertThat(j.path("integrity").asText()).as(r.out()).isEqualTo("ok");
    }

    @Test
    void doctorTalksToTheInstalledQemu() throws Exception {
        Command r = run(List.of(home.resolve("bin/ferry").toString(), "doctor", "--json"), Map.of());
        assertThat(r.code()).as(r.err()).isZero();
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertThat(j.at("/qemu/version").asText()).startsWith("10.");
        assertThat(j.at("/binding/commands/missing")).isEmpty();
    }

    @Test
    void theAgentUnitVerifies(@TempDir Path units) throws Exception {
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        if (!Files.isExecutable(analyze)) {
            System.out.println("SKIPPED theAgentUnitVerifies: no /usr/bin/systemd-analyze on this host");
            assumeTrue(false, "no systemd-analyze on this host");
        }
        // the unit names /opt/ferry; verify checks that ExecStart exists, so point it at this unpacked copy
        String unit = Files.readString(home.resolve("systemd/ferry-agent@.service")).replace("/opt/ferry",
                home.toString());
        Files.writeString(units.resolve("ferry-agent@.service"), unit);
        Command r = run(List.of(analyze.toString(), "verify", units.resolve("ferry-agent@a.service").toString()), Map.of());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        // verify exits 0 on settings it ignores; those are errors here
        assertThat(r.out() + r.err()).isEmpty();
    }
}
