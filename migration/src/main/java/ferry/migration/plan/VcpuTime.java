package ferry.migration.plan;

import ferry.node.QemuProcess;
import ferry.protocol.Commands;
import ferry.protocol.CpuInfoFast;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How long a guest's vCPU threads ran on a host CPU and how long they were ready to run but
 * waited for one, summed over the threads (Linux's per-thread {@code schedstat}, in ns; the
 * threads named by {@code query-cpus-fast}). A guest that waited most of a sample for the host
 * did less than it would have: its dirty rate reads low, and a plan made from it promises too much.
 * A starved sample is taken again (see {@link GuestProbe#measure}).
 */
record VcpuTime(long runNanos, long waitNanos) {
    /**
     * Above this share of its runnable time spent waiting, a sample counts as starved: a busy
     * 2-core host kept a CPU-bound TCG guest waiting 20-47% of the time (load 2-3), which the stream sees too.
     */
    static final double STARVED_SHARE = 0.5;
    /**
     * ... and only when the wait took at least this share of the sample's window: a light guest
     * (S1, S2: 7-11 ms of CPU in a 200 ms sample) that waited 10-16 ms for a CPU while the target
     * QEMU started beside it on a 2-core host did its work a little late, not less of it; taking
     * its sample again cost 200 ms of every such migration.
     */
    static final double STARVED_WINDOW_SHARE = 0.25;

    /** The vCPU threads' times now; null where the host does not tell (no schedstat, another OS). */
    static VcpuTime read(QemuProcess q) {
        try {
            long run = 0;
            long wait = 0;
            for (CpuInfoFast cpu : q.qmp().call(Commands.QUERY_CPUS_FAST)) {
                Path stat = Path.of("/proc", Long.toString(q.pid()), "task", Long.toString(cpu.threadId()), "schedstat");
                String[] f = Files.readString(stat).trim().split("\\s+");
                run += Long.parseLong(f[0]);
                wait += Long.parseLong(f[1]);
            }
            return new VcpuTime(run, wait);
        } catch (IOException | RuntimeException e) {
            return null; // the sample stands as measured
        }
    }

    VcpuTime since(VcpuTime before) {
        return new VcpuTime(runNanos - before.runNanos, waitNanos - before.waitNanos);
    }

    /** The share of the time the vCPUs were ready to run that they spent waiting for the host. */
    double waitShare() {
        long runnable = runNanos + waitNanos;
        return runnable <= 0 ? 0 : (double) waitNanos / runnable;
    }

    /** Whether a sample over {@code window} was starved: see {@link #STARVED_SHARE} and {@link #STARVED_WINDOW_SHARE}. */
    boolean starved(java.time.Duration window) {
        return waitShare() > STARVED_SHARE && waitNanos >= window.toNanos() * STARVED_WINDOW_SHARE;
    }
}
