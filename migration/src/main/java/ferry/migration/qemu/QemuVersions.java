package ferry.migration.qemu;

import ferry.migration.MigrationRefused;
import ferry.migration.MigrationRequest;
import ferry.migration.QemuOffer;
import ferry.migration.TaskLog;
import ferry.migration.policy.Policies;
import ferry.node.VmDefinition;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What prepare refuses between QEMUs of different versions, before anything changes: a machine
 * type the target lacks, and any option one of the two QEMUs lacks (asked of both, not read off
 * their version numbers).
 */
public final class QemuVersions {
    /** A versioned machine type: its family and its QEMU version, e.g. pc-i440fx + 7.2. */
    private static final Pattern VERSIONED = Pattern.compile("(.+)-(\\d+)\\.(\\d+)");

    private QemuVersions() {}

    /**
     * The target must have the machine type the VM runs (running) or is defined with (stopped):
     * only a versioned type is the same hardware on two QEMU versions.
     */
    public static void checkMachine(VmDefinition vm, String machine, boolean running, String source, String sourceVersion,
                                    String target, QemuOffer theirs) {
        if (!theirs.machines().contains(machine)) {
            throw new MigrationRefused("VM " + vm.vmid() + " " + (running ? "runs" : "is defined with") + " machine type '" + machine + "' on node '" + source + "' (QEMU " + sourceVersion
                    + "); QEMU " + theirs.version() + " on target node '" + target + "' lacks it" + sameFamily(machine,
                    theirs) + "; start the VM with a machine type both have" + bothHave(machine, theirs)
                    + " or upgrade QEMU on node '" + target + "'");
        }
        if (running && !sourceVersion.equals(theirs.version()) && !VERSIONED.matcher(machine).matches()) {
            throw new MigrationRefused("VM " + vm.vmid() + " runs machine type '" + machine + "', which has no version:"
                    + " its hardware may differ between QEMU " + sourceVersion + " on node '" + source + "' and QEMU "
                    + theirs.version() + " on node '" + target + "'; migrate it between nodes of the same QEMU, or "
                    + "start it with a versioned machine type");
        }
    }

    /** The options the migration asks for that either QEMU lacks, all at once; refused when any. */
    public static void checkBothEnds(MigrationRequest req, QemuFeatures source, QemuFeatures target) {
        List<String> lacks = new ArrayList<>(source.lacks(req.tuning()));
        lacks.addAll(target.lacks(req.tuning(), true));
        for (String cap : Policies.turnsOn(req.policy(), req.limits())) {
            // preempt is a choice of the policy's: it runs without it when one end lacks it (and says so)
            if (Policies.BOTH_ENDS.contains(cap) && !cap.equals("postcopy-preempt")) {
                String why = "policy " + req.policy() + (cap.startsWith("postcopy") ? " with --allow-postcopy" : "");
                source.needCap(lacks, cap, why);
                target.needCap(lacks, cap, why);
            }
        }
        if (req.limits().allowPostcopy() && olderThan8(source) && !source.version().equals(target.version())) {
            lacks.add("postcopy from QEMU " + source.version() + " on node '" + source.node() + "' to QEMU "
                    + target.version() + " on node '" + target.node() + "' cannot be recovered after a broken link "
                    + "(measured with 7.2 -> 10.0: the source stays in postcopy-recover), and a guest whose link "
                    + "breaks in postcopy would be lost; drop --allow-postcopy (QEMU 8.0 and newer sources recover)");
        }
        if (!lacks.isEmpty()) {
            throw new MigrationRefused("VM " + req.vmid() + ": " + String.join("; ", lacks)
                    + "; drop those options or upgrade QEMU there (nothing was changed)");
        }
    }

    /**
     * The target's capabilities a policy may count on. Postcopy-preempt is left out when either QEMU
     * is older than 8.0: 7.2 connects the preempt channel as the migration starts, and a target that
     * sees it before the main channel takes it for the main one (measured: 7.2 -> 10.0 through a
     * relay stalled in the first pass); QEMU 8.0 and newer connect it after the main channel.
     */
    public static Set<String> usableOnTarget(QemuFeatures source, QemuFeatures target, TaskLog log) {
        Set<String> caps = new java.util.TreeSet<>(target.capabilities());
        String older = olderThan8(source) ? source.node() + "' runs QEMU " + source.version()
                : olderThan8(target) ? target.node() + "' runs QEMU " + target.version() : null;
        if (older != null && caps.remove("postcopy-preempt") && source.capabilities().contains("postcopy-preempt")) {
            log.info("postcopy-preempt is not used: node '%s, which connects the preempt channel before the main "
                    + "one may be up (QEMU 8.0 and newer wait for it)", older);
        }
        return caps;
    }

    private static boolean olderThan8(QemuFeatures f) {
        return Integer.parseInt(f.version().split("\\.")[0]) < 8;
    }

    /** ", its newest pc-i440fx type is pc-i440fx-7.2" when the target has that family. */
    private static String sameFamily(String machine, QemuOffer theirs) {
        String newest = newestOf(machine, theirs);
        return newest == null ? "" : " (its newest of that family is '" + newest + "')";
    }

    private static String bothHave(String machine, QemuOffer theirs) {
        String newest = newestOf(machine, theirs);
        return newest == null ? "" : ", e.g. '" + newest + "',";
    }

    private static String newestOf(String machine, QemuOffer theirs) {
        Matcher m = VERSIONED.matcher(machine);
        if (!m.matches()) {
            return null;
        }
        String family = m.group(1);
        return theirs.machines().stream().map(VERSIONED::matcher).filter(x -> x.matches() && x.group(1).equals(family))
                .max(Comparator.comparingInt((Matcher x) -> Integer.parseInt(x.group(2)))
                        .thenComparingInt(x -> Integer.parseInt(x.group(3))))
                .map(x -> x.group(0)).orElse(null);
    }
}
