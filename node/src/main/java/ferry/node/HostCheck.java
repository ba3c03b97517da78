package ferry.node;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.protocol.Binding;
import ferry.protocol.Commands;
import ferry.protocol.KvmInfo;
import ferry.qapi.Conformance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * What this host offers Ferry: the QEMU binary, KVM, how well the binding matches the installed
 * QEMU, and the migration capabilities and parameters QEMU accepts. Starts one throwaway QEMU
 * without a guest ({@code -machine none}).
 */
public final class HostCheck {
    /** The findings; {@code lacks} says in words what this QEMU cannot do that Ferry would use. */
    public record Report(QemuBinary qemu, String qemuPackage, Kvm.DeviceState kvmDevice, boolean kvmPresent,
                         boolean kvmEnabled, Conformance.Report binding, List<Binding.KnownDifference> known,
                         List<Conformance.Difference> unexpected, List<String> capabilities,
                         List<String> parameters, List<String> lacks) {}

    private HostCheck() {}

    public static Report run(QemuBinary qemu, Path scratch) {
        Kvm.DeviceState device = Kvm.device();
        QemuProcess.Builder b = QemuProcess.builder(qemu, scratch).name("ferry-doctor").machine("none").memoryMiB(16);
        // try KVM first when the device opens; QEMU falls back to TCG and query-kvm tells which it took
        if (device == Kvm.DeviceState.USABLE) {
            b.accel("kvm", "tcg");
        }
        try (QemuProcess q = b.start()) {
            KvmInfo kvm = q.qmp().call(Commands.QUERY_KVM);
            JsonNode schema = q.qmp().execute("query-qmp-schema", null);
            Conformance.Report binding = Binding.check(schema);
            // raw JSON: capabilities newer than the binding have no enum constant
            List<String> caps = new ArrayList<>();
            q.qmp().execute("query-migrate-capabilities", null).forEach(c -> caps.add(c.path("capability").asText()));
            List<String> params = new ArrayList<>();
            for (Iterator<String> it = q.qmp().execute("query-migrate-parameters", null).fieldNames(); it.hasNext(); ) {
                params.add(it.next());
            }
            // an older QEMU with recorded differences (7.2) is checked against its own record
            List<Binding.KnownDifference> known = Binding.knownDifferences(qemu.major() + "." + qemu.minor());
            List<Conformance.Difference> unexpected = notIn(binding.differences(), known);
            String pkg = q.qmp().greeting().packageName();
            return new Report(qemu, pkg, device, kvm.present(), kvm.enabled(), binding, known, unexpected,
                    caps, params, lacks(qemu, binding, notIn(binding.differences(), Binding.knownDifferences())));
        } finally {
            deleteQuietly(scratch);
        }
    }

    private static List<Conformance.Difference> notIn(List<Conformance.Difference> found,
                                                     List<Binding.KnownDifference> known) {
        return found.stream()
                .filter(d -> known.stream().noneMatch(k -> k.path().equals(d.path()) && k.kind() == d.kind()))
                .toList();
    }

    /**
     * Plain words for what the binding has and this QEMU lacks, leaving out what QEMU 10 dropped on
     * purpose (QEMU 10.0's recorded differences); empty on QEMU 10.0.
     */
    static List<String> lacks(QemuBinary qemu, Conformance.Report binding, List<Conformance.Difference> unexpected) {
        List<String> out = new ArrayList<>();
        if (!qemu.atLeast(10, 0)) {
            out.add("QEMU " + qemu.version() + " is older than the QEMU 10.0 Ferry targets; features it lacks are listed below");
        }
        for (String c : binding.commandsMissing()) {
            out.add("command '" + c + "' is not available");
        }
        for (String e : binding.eventsMissing()) {
            out.add("event '" + e + "' is never sent");
        }
        for (Conformance.Difference d : unexpected) {
            if (d.kind() == Conformance.Kind.MISSING) {
                out.add(lacking(d.path()));
            }
        }
        return out;
    }

    private static String lacking(String path) {
        int dot = path.indexOf('.');
        String owner = path.substring(0, dot);
        String item = path.substring(dot + 1);
        return switch (owner) {
            case "MigrationCapability" -> "migration capability '" + item + "'";
            case "MigrateSetParameters", "MigrationParameters" -> "migration parameter '" + item + "'";
            case "MigrationStatus" -> "migration status '" + item + "'";
            default -> "'" + path + "'";
        } + " is not available";
    }

    private static void deleteQuietly(Path dir) {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception ignored) {
            // a scratch folder left behind is harmless
        }
    }
}
