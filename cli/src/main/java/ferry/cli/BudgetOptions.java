package ferry.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Option;

/** The limits a migration runs under, shared by {@code ferry migrate} and {@code ferry plan}. */
final class BudgetOptions {
    @Option(names = "--bwlimit", paramLabel = "MiB/s", converter = PositiveIntConverter.class, description = "Bandwidth limit (default: the VM's, else "
            + "unlimited, 8192 MiB/s; without one, 'ferry plan' measures the link with a short probe).")
    Integer bwlimit;

    @Option(names = {"--max-downtime", "--downtime"}, paramLabel = "MS", converter = PositiveIntConverter.class, description = {"budget: the most downtime the guest may see (default 300 ms); classic: the first downtime limit "
                + "(default 100 ms); qemu-default and kubevirt: QEMU's downtime limit (default 300 ms); ovirt: not "
                + "used (its schedule sets the limit)."})
    Integer downtime;

    @Option(names = "--max-duration", paramLabel = "S", converter = PositiveIntConverter.class, description = "Seconds pre-copy may take before the policy "
            + "escalates or gives up (default: 5 passes of all RAM at the bandwidth limit, at least 60 s; kubevirt "
            + "and ovirt: none, they end by their peer's own timeouts or schedule).")
    Integer maxDuration;

    @Option(names = "--allow-throttle", description = "budget: the guest's vCPUs may be slowed (auto-converge).")
    boolean allowThrottle;

    @Option(names = "--allow-postcopy", description = "budget: may switch to postcopy (the guest runs on the target "
            + "while the rest of its memory follows; a broken link pauses it until the link is back).")
    boolean allowPostcopy;

    @Option(names = "--allow-pause", description = "budget: may pause the guest to send the last pass.")
    boolean allowPause;

    /** Adds these limits to an agent request (fields left unset stay absent). */
    ObjectNode putInto(ObjectNode req) {
        putIfSet(req, "bwlimit", bwlimit);
        putIfSet(req, "downtime", downtime);
        putIfSet(req, "max_duration", maxDuration);
        return req.put("allow_throttle", allowThrottle).put("allow_postcopy", allowPostcopy).put("allow_pause", allowPause);
    }

    static void putIfSet(ObjectNode o, String field, Integer v) {
        if (v != null) {
            o.put(field, v);
        }
    }
}
