package ferry.testkit.netns;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Listing, emptying and deleting named network namespaces, including those of creators that died. */
final class Namespaces {
    /** Our namespaces begin with "fy" and the creating process's pid: fy1234-0-a, fy1234-probe. */
    private static final Pattern OURS = Pattern.compile("fy(\\d+)-.*");
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private Namespaces() {}

    /** The names {@code ip netns list} shows ("name (id: 3)" lines). */
    static List<String> list() {
        List<String> out = new ArrayList<>();
        for (String line : Tool.run("listing network namespaces", List.of("ip", "netns", "list")).split("\n")) {
            if (!line.isBlank()) {
                out.add(line.strip().split("\\s+")[0]);
            }
        }
        return out;
    }

    /** The prefix every namespace made by this process starts with. */
    static String ownPrefix() {
        return "fy" + ProcessHandle.current().pid() + "-";
    }

    static void add(String ns) {
        Tool.run("creating network namespace " + ns, List.of("ip", "netns", "add", ns));
    }

    /**
     * Kills (SIGKILL) every process inside {@code ns} and waits for them to end: a namespace that
     * still holds a process outlives {@code ip netns del}, and so would its addresses and QEMUs.
     */
    static void empty(String ns) {
        for (int round = 0; round < 3; round++) {
            List<ProcessHandle> inside = new ArrayList<>();
            for (String pid : Tool.run("listing the processes in " + ns, List.of("ip", "netns", "pids", ns)).split("\\s+")) {
                if (!pid.isBlank()) {
                    ProcessHandle.of(Long.parseLong(pid)).ifPresent(inside::add);
                }
            }
            if (inside.isEmpty()) {
                return;
            }
            inside.forEach(ProcessHandle::destroyForcibly);
            for (ProcessHandle h : inside) {
                try {
                    h.onExit().get(KILL_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                } catch (Exception stillThere) {
                    // the next round lists it again; the last round's survivors are reported by delete
                }
            }
        }
    }

    /** Empties and deletes {@code ns}; a namespace already gone is fine. */
    static void remove(String ns) {
        if (!list().contains(ns)) {
            return;
        }
        empty(ns);
        Tool.run("deleting network namespace " + ns, List.of("ip", "netns", "del", ns));
    }

    /** Removes the namespaces of creators that are no longer running (a test or demo killed before it cleaned up). */
    static void removeStale() {
        for (String ns : list()) {
            Matcher m = OURS.matcher(ns);
            if (m.matches() && ProcessHandle.of(Long.parseLong(m.group(1))).map(h -> !h.isAlive()).orElse(true)) {
                remove(ns);
            }
        }
    }
}
