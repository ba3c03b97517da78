package ferry.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ferry.testkit.LinuxStressGuest.Gap;
import ferry.testkit.LinuxStressGuest.Tick;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cpio writer, the initramfs and stressor builds, and the serial-log parser; no QEMU needed. */
class LinuxStressInitramfsTest {
    @TempDir Path dir;

    /** One parsed newc entry. */
    record Entry(String name, int mode, int nlink, int rdevMajor, int rdevMinor, byte[] data) {}

    private static byte[] sample() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (CpioWriter cpio = new CpioWriter(out)) {
            cpio.directory("dir", 0755)
                    .file("dir/run", 0755, "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.US_ASCII))
                    .file("dir/data", 0644, new byte[] {1, 2, 3, 4, 5})
                    .file("dir/empty", 0600, new byte[0])
                    .symlink("dir/link", "run")
                    .directory("dev", 0755)
                    .charDevice("dev/console", 0600, 5, 1);
        }
        return out.toByteArray();
    }

    @Test
    void cpioWriterRoundTrips() throws IOException {
        byte[] archive = sample();
        assertThat(archive.length % 4).isZero();
        assertThat(sample()).as("deterministic").isEqualTo(archive);
        Map<String, Entry> e = parse(archive);
        assertThat(e.keySet()).containsExactly("dir", "dir/run", "dir/data", "dir/empty", "dir/link", "dev", "dev/console");
        assertThat(e.get("dir").mode()).isEqualTo(040755);
        assertThat(e.get("dir/run").mode()).isEqualTo(0100755);
        assertThat(new String(e.get("dir/run").data(), StandardCharsets.US_ASCII)).isEqualTo("#!/bin/sh\necho hi\n");
        assertThat(e.get("dir/data").mode()).isEqualTo(0100644);
        assertThat(e.get("dir/data").data()).containsExactly(1, 2, 3, 4, 5);
        assertThat(e.get("dir/empty").data()).isEmpty();
        assertThat(e.get("dir/link").mode()).isEqualTo(0120777);
        assertThat(new String(e.get("dir/link").data(), StandardCharsets.UTF_8)).isEqualTo("run");
        assertThat(e.get("dev/console").mode()).isEqualTo(020600);
        assertThat(e.get("dev/console").rdevMajor()).isEqualTo(5);
        assertThat(e.get("dev/console").rdevMinor()).isEqualTo(1);
    }

    @Test
    void cpioToolListsTheArchiveWithTheRightModes() throws Exception {
        Path cpio = LinuxStress.onPath("cpio");
        assumeTrue(cpio != null, "cpio is not installed; cpioWriterRoundTrips parses the archive instead");
        Path file = dir.resolve("sample.cpio");
        Files.write(file, sample());
        Process p = new ProcessBuilder(cpio.toString(), "-tv", "--quiet", "-F", file.toString())
                .redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l; (l = r.readLine()) != null; ) {
                lines.add(l);
            }
        }
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(String.join("\n", lines)).isZero();
        Map<String, String> modes = new LinkedHashMap<>();
        for (String l : lines) {
            String[] f = l.trim().split("\\s+");
            String name = l.contains(" -> ") ? f[f.length - 3] : f[f.length - 1];
            modes.put(name, f[0]);
        }
        assertThat(modes).containsExactly(
                Map.entry("dir", "drwxr-xr-x"),
                Map.entry("dir/run", "-rwxr-xr-x"),
                Map.entry("dir/data", "-rw-r--r--"),
                Map.entry("dir/empty", "-rw-------"),
                Map.entry("dir/link", "lrwxrwxrwx"),
                Map.entry("dev", "drwxr-xr-x"),
                Map.entry("dev/console", "crw-------"));
        assertThat(lines).anyMatch(l -> l.endsWith("dir/link -> run"));
    }

    @Test
    void cpioWriterRejectsBadNames() throws IOException {
        CpioWriter cpio = new CpioWriter(new ByteArrayOutputStream());
        assertThatThrownBy(() -> cpio.file("/abs", 0644, new byte[0])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cpio.file("TRAILER!!!", 0644, new byte[0])).isInstanceOf(IllegalArgumentException.class);
        cpio.directory("a", 0755);
        assertThatThrownBy(() -> cpio.directory("a", 0755)).hasMessageContaining("duplicate");
        cpio.finish();
        assertThatThrownBy(() -> cpio.directory("b", 0755)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void initramfsHoldsInitBusyboxAndTheStaticStressor() throws IOException {
        needsBuildTools();
        Path cache = dir.resolve("cache");
        Path kernel = Path.of("/boot/vmlinuz-6.1.0-99-cloud-amd64"); // only its release goes into the hash
        Path initrd = LinuxStress.initramfs(cache, kernel);
        byte[] cpio;
        try (GZIPInputStream in = new GZIPInputStream(Files.newInputStream(initrd))) {
            cpio = in.readAllBytes();
        }
        Map<String, Entry> e = parse(cpio);
        assertThat(e.get("init").mode()).isEqualTo(0100755);
        assertThat(e.get("init").data()).isEqualTo(LinuxStress.resource(LinuxStress.INIT_RESOURCE));
        assertThat(e.get("bin/busybox").mode()).isEqualTo(0100755);
        assertThat(e.get("bin/busybox").data()).isEqualTo(Files.readAllBytes(LinuxStress.BUSYBOX));
        for (String applet : List.of("sh", "mount", "cat", "cut", "uname")) {
            assertThat(e.get("bin/" + applet).mode()).as(applet).isEqualTo(0120777);
            assertThat(new String(e.get("bin/" + applet).data(), StandardCharsets.UTF_8)).isEqualTo("busybox");
        }
        assertThat(e.get("bin/stress").mode()).isEqualTo(0100755);
        assertThat(LinuxStress.isStaticElf(e.get("bin/stress").data())).isTrue();
        assertThat(e.get("dev/console").mode()).isEqualTo(020600);
        assertThat(e.get("proc").mode()).isEqualTo(040555);

        // Cached: the same inputs give the same file, untouched; another kernel release a new one.
        FileTime built = Files.getLastModifiedTime(initrd);
        assertThat(LinuxStress.initramfs(cache, kernel)).isEqualTo(initrd);
        assertThat(Files.getLastModifiedTime(initrd)).isEqualTo(built);
        assertThat(LinuxStress.initramfs(cache, Path.of("/boot/vmlinuz-6.1.0-100-cloud-amd64"))).isNotEqualTo(initrd);
        assertThat(LinuxStress.stressBinary(cache)).isEqualTo(LinuxStress.cachedStressBinary(cache));
        try (var files = Files.list(cache)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.endsWith(".tmp") || n.startsWith("stress-build-"));
        }
    }

    @Test
    void stressorPacesItsWritesOnTheHost() throws Exception {
        needsBuildTools();
        Path bin = LinuxStress.stressBinary(dir.resolve("cache"));
        // Not PID 1 here, so it never touches the host's clock.
        Path log = dir.resolve("stress.out");
        Process p = new ProcessBuilder(bin.toString(), "8", "40").redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        try {
            Thread.sleep(2500);
        } finally {
            p.destroy();
            p.waitFor(10, TimeUnit.SECONDS);
        }
        String out = Files.readString(log);
        assertThat(out).startsWith("FERRY-READY 8 40 ");
        List<Tick> ticks = LinuxStressGuest.ticks(out);
        assertThat(ticks.size()).as(out).isBetween(15, 30);
        for (int i = 0; i < ticks.size(); i++) {
            assertThat(ticks.get(i).seq()).isEqualTo(i);
        }
        assertThat(LinuxStressGuest.dirtyRate(ticks)).isBetween(30.0, 50.0);
        // one loop slice per 10 ms, never more: about 100 a second of its clock
        Tick first = ticks.getFirst();
        Tick last = ticks.getLast();
        double slicesPerS = (last.slices() - first.slices()) * 1000.0 / (last.wallMs() - first.wallMs());
        assertThat(slicesPerS).isBetween(80.0, 101.0);
    }

    @Test
    void stressorReportsBadArguments() throws Exception {
        needsBuildTools();
        Path bin = LinuxStress.stressBinary(dir.resolve("cache"));
        Process p = new ProcessBuilder(bin.toString(), "lots", "1").redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(r.readLine()).startsWith("FERRY-ERROR MIB must be an integer");
        } finally {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void parsesTicksAndGapsFromCompleteLines() {
        String serial = "[    0.9] noise\r\nFERRY-BOOTED 1.23 6.1.0\nFERRY-READY 64 20 80 rtc\n"
                + "FERRY-TICK 0 1000 0.00\r\nFERRY-TICK 1 1100 2.00\nrandom: crng FERRY-TICK 2 1200 4.00\n"
                + "FERRY-TICK 3 garbled\nFERRY-GAP 999 5000 pause\nFERRY-GAP 70 5100 stall\nFERRY-GAP 1 2 other\n"
                + "FERRY-TICK 4 1300 6.00\nFERRY-TICK 5 14";
        assertThat(LinuxStressGuest.ticks(serial)).containsExactly(new Tick(0, 1000, 0), new Tick(1, 1100, 2),
                new Tick(2, 1200, 4), new Tick(4, 1300, 6));
        assertThat(LinuxStressGuest.gaps(serial)).containsExactly(new Gap(999, 5000, Gap.Kind.PAUSE),
                new Gap(70, 5100, Gap.Kind.STALL));
        assertThat(LinuxStressGuest.dirtyRate(LinuxStressGuest.ticks(serial))).isEqualTo(20.0);
        assertThat(LinuxStressGuest.dirtyRate(List.of())).isNaN();
    }

    @Test
    void picksTheNewestCloudKernel() throws IOException {
        for (String n : List.of("vmlinuz-6.1.0-9-cloud-amd64", "vmlinuz-6.1.0-56-cloud-amd64", "vmlinuz-6.1.0-56-amd64",
                "vmlinuz-5.10.0-30-cloud-amd64")) {
            Files.createFile(dir.resolve(n));
        }
        assertThat(LinuxStress.newestCloudKernel(dir)).isEqualTo(dir.resolve("vmlinuz-6.1.0-56-cloud-amd64"));
        Files.createFile(dir.resolve("vmlinuz-6.12.12+bpo-cloud-amd64"));
        assertThat(LinuxStress.newestCloudKernel(dir)).isEqualTo(dir.resolve("vmlinuz-6.12.12+bpo-cloud-amd64"));
        assertThat(LinuxStress.newestCloudKernel(dir.resolve("none"))).isNull();
        assertThat(LinuxStress.kernelRelease(dir.resolve("vmlinuz-6.1.0-56-cloud-amd64"))).isEqualTo("6.1.0-56-cloud-amd64");
    }

    @Test
    void guestShapeIsChecked() {
        assertThatThrownBy(() -> new LinuxStressGuest(128, 64, 20)).hasMessageContaining("leaves the kernel");
        assertThatThrownBy(() -> new LinuxStressGuest(256, 0, 20)).isInstanceOf(IllegalArgumentException.class);
        assertThat(LinuxStressGuest.standard().kernelCommandLine())
                .isEqualTo("console=ttyS0 quiet panic=-1 ferry.mib=128 ferry.rate=20");
    }

    private static void needsBuildTools() {
        String busybox = LinuxStress.busyboxProblem();
        assumeTrue(busybox == null, busybox);
        assumeTrue(LinuxStress.onPath("gcc") != null, "gcc is not installed; run scripts/install-deps");
    }

    /** A newc reader, independent of the writer: checks magic, alignment and the trailer. */
    static Map<String, Entry> parse(byte[] a) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        int pos = 0;
        while (true) {
            assertThat(pos % 4).isZero();
            String h = new String(a, pos, 110, StandardCharsets.US_ASCII);
            assertThat(h).startsWith("070701");
            long[] f = new long[13];
            for (int i = 0; i < 13; i++) {
                f[i] = Long.parseLong(h.substring(6 + 8 * i, 14 + 8 * i), 16);
            }
            int nameSize = (int) f[11];
            String name = new String(a, pos + 110, nameSize - 1, StandardCharsets.UTF_8);
            assertThat(a[pos + 110 + nameSize - 1]).isZero();
            int data = align(pos + 110 + nameSize);
            int size = (int) f[6];
            pos = align(data + size);
            if (name.equals("TRAILER!!!")) {
                assertThat(pos).isEqualTo(a.length);
                return entries;
            }
            byte[] bytes = new byte[size];
            System.arraycopy(a, data, bytes, 0, size);
            entries.put(name, new Entry(name, (int) f[1], (int) f[4], (int) f[9], (int) f[10], bytes));
        }
    }

    private static int align(int n) {
        return (n + 3) & ~3;
    }

    static byte[] gunzip(byte[] gz) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
            return in.readAllBytes();
        }
    }
}
