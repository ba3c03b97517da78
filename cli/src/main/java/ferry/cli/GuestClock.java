package ferry.cli;

import ferry.testkit.LinuxStressGuest;
import ferry.testkit.LinuxStressGuest.Tick;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The linux-stress guest watched from its console for a few seconds before a migration: its rate
 * then, and its clock against the host's (the offset of its newest tick, at the read that saw it
 * freshest), so the migration's window can be mapped onto the guest's ticks afterwards.
 */
final class GuestClock {
    private static final long READ_EVERY_MS = 250;
    /** How long to wait after the migration for ticks past its end (the stressor prints every 100 ms). */
    private static final long TICKS_AFTER_MS = 5000;

    private final List<Tick> before;
    private final long offsetMs;

    private GuestClock(List<Tick> before, long offsetMs) {
        this.before = before;
        this.offsetMs = offsetMs;
    }

    /** Reads {@code serial} for {@code forMs}; the ticks of that span give the rate before. */
    static GuestClock watch(Path serial, long forMs) throws InterruptedException {
        long offset = Long.MIN_VALUE;
        Tick first = null;
        Tick last = null;
        long until = System.currentTimeMillis() + forMs;
        while (true) {
            List<Tick> ticks = LinuxStressGuest.ticks(DemoCommand.read(serial));
            long now = System.currentTimeMillis();
            if (!ticks.isEmpty()) {
                last = ticks.getLast();
                first = first == null ? last : first;
                // a tick is at most ~100 ms old when read: the largest difference is the closest
                offset = Math.max(offset, last.wallMs() - now);
            }
            if (now >= until) {
                break;
            }
            Thread.sleep(READ_EVERY_MS);
        }
        List<Tick> span = first == null || first == last ? List.of() : List.of(first, last);
        return new GuestClock(span, offset == Long.MIN_VALUE ? 0 : offset);
    }

    /**
     * The guest's work from host time {@code startMs} to {@code endMs}: waits (up to 5 s) until
     * {@code where} (the log of the node that runs the guest now) has ticks past the end, then
     * reads every log the guest wrote to. Null without ticks.
     */
    GuestWork workUntil(long endMs, Path where, Path serialA, Path serialB, long startMs) throws InterruptedException {
        if (before.isEmpty()) {
            return null;
        }
        long deadline = System.currentTimeMillis() + TICKS_AFTER_MS;
        while (System.currentTimeMillis() < deadline) {
            List<Tick> t = LinuxStressGuest.ticks(DemoCommand.read(where));
            if (!t.isEmpty() && t.getLast().wallMs() > endMs + offsetMs + 200) {
                break;
            }
            Thread.sleep(READ_EVERY_MS);
        }
        List<Tick> all = new ArrayList<>();
        for (Path p : List.of(serialA, serialB)) {
            if (Files.exists(p)) {
                all.addAll(LinuxStressGuest.ticks(DemoCommand.read(p)));
            }
        }
        return new GuestWork(before, all, startMs + offsetMs, endMs + offsetMs);
    }
}
