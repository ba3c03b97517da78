package ferry.migration.plan;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ferry.migration.TwoNodes;
import ferry.migration.phase.Phase2;
import ferry.node.QemuProcess;
import ferry.node.VmDefinition;
import ferry.protocol.Commands;
import ferry.protocol.PmemsaveArgs;
import ferry.testkit.BootblockGuest;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pre-flight sample of a running guest, against real QEMU. */
class GuestProbeTest {
    @TempDir
    Path dir;

    @Test
    void aSubSecondSampleMeasuresTheGuestsWrites() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(120, new BootblockGuest(128, 1024 * 1024 + (32L << 20), 100_000));
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));

            long t0 = System.nanoTime();
            Duration window = GuestProbe.startDirtyRate(src, Phase2.PLAN_SAMPLE);
            assertThat(window).as("QEMU 8.2+ measures in milliseconds").isEqualTo(Phase2.PLAN_SAMPLE);
            double rate = GuestProbe.awaitDirtyRate(src, window, t0);
            assertThat(System.nanoTime() - t0).as("QEMU's window was waited for").isGreaterThanOrEqualTo(window.toNanos());
            assertThat(rate).as("the guest rewrites its 32 MiB region").isPositive();

            // a whole-second window is asked in seconds, the form every QEMU since 5.2 takes
            GuestProbe.Measured m = GuestProbe.measure(src, vm.memoryMiB(), Duration.ofSeconds(1));
            byte[] wholeRam = wholeRam(src, vm.memoryMiB());
            assertThat(m.dirtyBytesPerS()).isPositive();
            assertThat(m.took()).isGreaterThanOrEqualTo(Duration.ofSeconds(1));
            // 128 MiB guest of which the bootblock writes 32 MiB: the chunks, spread evenly over the
            // RAM (see ZeroShareTest), read about the share the whole RAM has, pmemsave'd at once
            double whole = zeroShareOf(wholeRam);
            System.out.printf("zero share: %.3f read from the chunks, %.3f in the whole RAM%n", m.zeroShare(), whole);
            assertThat(whole).isBetween(0.6, 0.8);
            // within two chunks' worth even of the fewest (ZeroShareTest), however many fit in the second
            assertThat(m.zeroShare()).isCloseTo(whole, within(2.0 / GuestProbe.MIN_ZERO_SAMPLES));
            src.detach();
        }
    }

    /**
     * A guest that rewrites a 16 MiB region several times a second: the short sample sees it write,
     * the longer one sees each page of the region once, and together they name the region as its
     * working set (the migration's second sample, {@link Phase2#WORKING_SET_SAMPLE}).
     */
    @Test
    void theLongerSampleFindsTheRegionTheGuestRewrites() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            BootblockGuest guest = new BootblockGuest(128, 1024 * 1024 + (16L << 20), 0);
            VmDefinition vm = nodes.bootblockVm(122, guest);
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            double own = guest.dirtyBytesPerS(src, Duration.ofSeconds(1));
            System.out.printf("the guest rewrites its 16 MiB at %.1f MiB/s%n", own / (1 << 20));
            assertThat(own * Phase2.WORKING_SET_SAMPLE.toMillis() / 1000).as("it rewrites the region at least twice "
                    + "within the longer sample on this host").isGreaterThan(2 * (16 << 20));

            GuestProbe.Measured first = GuestProbe.measure(src, vm.memoryMiB(), Phase2.PLAN_SAMPLE);
            WorkingSet w = GuestProbe.workingSet(src, first.dirtyBytesPerS(), Phase2.WORKING_SET_SAMPLE);
            System.out.printf("short sample %.1f MiB/s, then: %s%n", first.dirtyBytesPerS() / (1 << 20), w);
            assertThat(w.found()).as(w.toString()).isTrue();
            assertThat(w.workingSetBytes() / (double) (1 << 20)).as("the 16 MiB region, sampled").isBetween(11.0, 21.0);

            // a short sample that erred as low as the long one read: the two alone see no set, the third window does
            double longRate = w.workingSetBytes() * 1000.0 / Phase2.WORKING_SET_SAMPLE.toMillis();
            WorkingSet again = GuestProbe.workingSet(src, longRate, Phase2.WORKING_SET_SAMPLE);
            System.out.printf("short sample taken as %.1f MiB/s, then: %s%n", longRate / (1 << 20), again);
            assertThat(WorkingSet.of(longRate, longRate, Phase2.WORKING_SET_SAMPLE).unsure()).isTrue();
            assertThat(again.found()).as(again.toString()).isTrue();
            assertThat(again.workingSetBytes() / (double) (1 << 20)).isBetween(11.0, 21.0);
            src.detach();
        }
    }

    /**
     * A guest kept from the host's CPU: its vCPU thread shares one host CPU with three busy loops,
     * so it waits about three quarters of the time it is ready to run. The sample says so and is
     * taken again, instead of promising a plan from a rate the guest showed only while starved.
     */
    @Test
    void aGuestStarvedOfCpuIsSampledAgain() throws Exception {
        try (TwoNodes nodes = new TwoNodes(dir)) {
            VmDefinition vm = nodes.bootblockVm(121, new BootblockGuest(128, 1024 * 1024 + (32L << 20), 0));
            QemuProcess src = nodes.a.start(vm);
            BootblockGuest.awaitPasses(src, 1, Duration.ofSeconds(30));
            assertThat(VcpuTime.read(src)).as("this host reports each thread's run and wait times").isNotNull();
            GuestProbe.Measured calm = GuestProbe.measure(src, vm.memoryMiB(), Phase2.PLAN_SAMPLE);
            assertThat(calm.waitShare()).as(calm.toString()).isBetween(0.0, 1.0);
            System.out.printf("a CPU-bound guest on this host waited %.0f%% of its runnable time%n", calm.waitShare() * 100);
            List<Process> busy = new ArrayList<>();
            try {
                for (var cpu : src.qmp().call(Commands.QUERY_CPUS_FAST)) {
                    run("taskset", "-p", "-c", "0", Long.toString(cpu.threadId()));
                }
                for (int i = 0; i < 3; i++) {
                    busy.add(new ProcessBuilder("taskset", "-c", "0", "sh", "-c", "while :; do :; done").start());
                }
                Thread.sleep(300);
                VcpuTime before = VcpuTime.read(src);
                Thread.sleep(1000);
                VcpuTime spent = VcpuTime.read(src).since(before);
                assertThat(spent.starved(Duration.ofSeconds(1))).as(spent.toString()).isTrue();

                GuestProbe.Measured m = GuestProbe.measure(src, vm.memoryMiB(), Phase2.PLAN_SAMPLE);
                assertThat(m.starvedShare()).as("sampled twice: " + m).isGreaterThan(VcpuTime.STARVED_SHARE);
                assertThat(m.took()).as(m.toString()).isGreaterThanOrEqualTo(Phase2.PLAN_SAMPLE.multipliedBy(2));
            } finally {
                busy.forEach(Process::destroyForcibly);
                src.detach();
            }
        }
    }

    private static void run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    /** The guest's whole RAM, read at once. */
    private byte[] wholeRam(QemuProcess q, int memoryMiB) throws Exception {
        Path file = dir.resolve("whole-ram.bin");
        q.qmp().call(Commands.PMEMSAVE, new PmemsaveArgs(BigInteger.ZERO, BigInteger.valueOf((long) memoryMiB << 20),
                file.toString()));
        return Files.readAllBytes(file);
    }

    private static double zeroShareOf(byte[] ram) {
        long zero = 0;
        for (int off = 0; off + 4096 <= ram.length; off += 4096) {
            zero += GuestProbe.isZero(ram, off) ? 1 : 0;
        }
        return (double) zero / (ram.length / 4096);
    }
}
