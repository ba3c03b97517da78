package ferry.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.migration.TlsCheck;
import ferry.node.HostCheck;
import ferry.node.QemuBinary;
import ferry.qapi.Conformance;
import ferry.qapi.QapiJson;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ferry doctor}: checks that this host can run Ferry, and how the installed QEMU matches the binding. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Checks this host: the QEMU binary and version, KVM, every bound QMP command, event and member "
                + "against the installed QEMU's own schema, and the migration capabilities and parameters it "
                + "accepts, and whether QEMU can carry streams over TLS (it loads a throwaway CA's certificate). "
                + "Starts two short-lived QEMUs without a guest."})
final class DoctorCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print one JSON object instead of the report.")
    boolean json;

    @Option(names = "--cluster", paramLabel = "DIR", defaultValue = "${env:FERRY_CLUSTER}",
            description = "Also show this cluster's certificates and when they expire (default: $FERRY_CLUSTER).")
    Path cluster;

    @Option(names = "--node", paramLabel = "NODE",
            description = "Check the QEMU this node of the --cluster starts its VMs with (its own installation "
                    + "from 'ferry cluster set-qemu', else the installed one); run it on that node's host.")
    String node;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        QemuBinary qemu = qemu();
        HostCheck.Report r = HostCheck.run(qemu, Files.createTempDirectory("ferry-doctor"));
        TlsCheck.Result tls = TlsCheck.run(qemu, Files.createTempDirectory("ferry-doctor-tls"));
        PrintWriter out = spec.commandLine().getOut();
        ferry.cluster.pki.ClusterPki pki = cluster != null && Files.isDirectory(cluster)
                ? ferry.cluster.pki.ClusterPki.in(cluster) : null;
        java.time.Instant now = java.time.Instant.now();
        java.util.Optional<String> storeWarning = pki != null ? StoreWarning.of(cluster) : java.util.Optional.empty();
        int expired = 0;
        if (json) {
            ObjectNode o = toJson(r);
            o.putObject("tls").put("able", tls.able()).put("detail", tls.detail());
            storeWarning.ifPresent(w -> o.put("store_warning", w));
            if (pki != null) {
                var certs = CertificateReport.json(pki, now);
                certs.forEach(c -> o.withArray("certificates").add(c));
                for (var c : certs) {
                    expired += c.path("expired").asBoolean() ? 1 : 0;
                }
            }
            out.println(QapiJson.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(o));
        } else {
            print(r, out);
            printTls(tls, out);
            if (pki != null) {
                out.printf("Certificates of cluster %s:%n", cluster.toAbsolutePath());
                expired = CertificateReport.print(pki, now, out);
                storeWarning.ifPresent(w -> out.printf("WARNING: %s%n", w));
            }
        }
        out.flush();
        return unrecordedMissing(r).isEmpty() && r.unexpected().isEmpty() && expired == 0 ? Main.OK : Main.FAILED;
    }

    private QemuBinary qemu() {
        if (node == null) {
            return QemuBinary.find();
        }
        if (cluster == null || !Files.isDirectory(cluster)) {
            throw new UsageError("--node needs the cluster's folder: pass --cluster DIR (or set FERRY_CLUSTER)");
        }
        try (ferry.cluster.ClusterStore s = new ferry.agent.ClusterLayout(cluster).open()) {
            var n = s.config().node(node).orElseThrow(() -> new UsageError("unknown node '" + node
                    + "'; the cluster's nodes are " + String.join(", ", s.config().nodeNames())));
            return ferry.agent.NodeQemus.of(n);
        }
    }

    /** Missing commands beyond what an older QEMU's record lists (7.2 is given to a node on purpose). */
    private static List<String> unrecordedMissing(HostCheck.Report r) {
        List<String> missing = new java.util.ArrayList<>(r.binding().commandsMissing());
        missing.removeAll(ferry.protocol.Binding.commandsMissingIn(r.qemu().major() + "." + r.qemu().minor()));
        return missing;
    }

    /** The QEMU release whose recorded differences this QEMU was checked against. */
    private static String recordedFor(HostCheck.Report r) {
        String mine = r.qemu().major() + "." + r.qemu().minor();
        return ferry.protocol.Binding.OLDER_RECORDED.contains(mine) ? mine : ferry.protocol.Binding.differencesRecordedFor();
    }

    static ObjectNode toJson(HostCheck.Report r) {
        ObjectNode o = QapiJson.mapper().createObjectNode();
        ObjectNode q = o.putObject("qemu");
        q.put("binary", r.qemu().path().toString());
        q.put("version", r.qemu().version());
        q.put("package", r.qemuPackage());
        if (r.qemu().moduleDir() != null) {
            q.put("module_dir", r.qemu().moduleDir().toString());
        }
        r.qemu().dataDirs().forEach(d -> q.withArray("data_dirs").add(d.toString()));
        ObjectNode kvm = o.putObject("kvm");
        kvm.put("device", r.kvmDevice().name().toLowerCase().replace('_', '-'));
        kvm.put("present", r.kvmPresent());
        kvm.put("enabled", r.kvmEnabled());
        Conformance.Report b = r.binding();
        ObjectNode binding = o.putObject("binding");
        names(binding.putObject("commands"), b.commandsBound(), b.commandsMissing());
        names(binding.putObject("events"), b.eventsBound(), b.eventsMissing());
        ArrayNode mm = binding.putArray("mismatches");
        for (Conformance.Difference d : b.mismatches()) {
            mm.addObject().put("name", d.path()).put("kind", d.kind().name().toLowerCase())
                    .put("expected", d.expected()).put("found", d.found());
        }
        ArrayNode extras = binding.putArray("qemu_only");
        b.differences().stream().filter(d -> d.kind() == Conformance.Kind.EXTRA).forEach(d -> extras.add(d.path()));
        binding.put("known_differences", r.known().size());
        binding.put("differences_recorded_for", recordedFor(r));
        ArrayNode unexpected = binding.putArray("unexpected_differences");
        r.unexpected().forEach(d -> unexpected.add(d.toString()));
        r.capabilities().forEach(o.putArray("capabilities")::add);
        r.parameters().forEach(o.putArray("parameters")::add);
        r.lacks().forEach(o.putArray("lacks")::add);
        return o;
    }

    /** Not a failure: without TLS streams go in plain TCP, which a cluster without certificates does anyway. */
    private static void printTls(TlsCheck.Result tls, PrintWriter out) {
        out.printf("TLS       %s%n", tls.able()
                ? "QEMU can carry migration and NBD streams over TLS (GnuTLS built in: " + tls.detail() + ")"
                : "QEMU cannot do TLS: " + tls.detail() + "; migrations of a cluster with certificates fail until "
                        + "it can (install Debian's QEMU 10 with scripts/install-deps)");
    }

    private static void names(ObjectNode o, List<String> bound, List<String> missing) {
        bound.forEach(o.putArray("bound")::add);
        o.put("total", bound.size());
        o.put("present", bound.size() - missing.size());
        missing.forEach(o.putArray("missing")::add);
    }

    private static void print(HostCheck.Report r, PrintWriter out) {
        Conformance.Report b = r.binding();
        out.printf("QEMU      %s (%s)%n", r.qemu().version(), r.qemu().path());
        out.printf("KVM       /dev/kvm %s; QEMU: %s%n", r.kvmDevice().name().toLowerCase().replace('_', ' '),
                r.kvmEnabled() ? "KVM enabled" : r.kvmPresent() ? "KVM present but not used, TCG" : "no KVM, TCG");
        out.printf("Commands  %d of %d bound commands present%s%n", b.commandsPresent().size(), b.commandsBound().size(),
                b.commandsMissing().isEmpty() ? "" : "; missing: " + String.join(", ", b.commandsMissing()));
        out.printf("Events    %d of %d bound events present%s%n", b.eventsBound().size() - b.eventsMissing().size(),
                b.eventsBound().size(), b.eventsMissing().isEmpty() ? "" : "; missing: " + String.join(", ", b.eventsMissing()));
        out.printf("Members   %d differences, %d of them recorded for QEMU %s%n", b.differences().size(),
                b.differences().size() - r.unexpected().size(), recordedFor(r));
        for (Conformance.Difference d : r.unexpected()) {
            out.println("  unexpected: " + d);
        }
        out.printf("Migration %d capabilities: %s%n", r.capabilities().size(), String.join(", ", r.capabilities()));
        out.printf("          %d parameters: %s%n", r.parameters().size(), String.join(", ", r.parameters()));
        if (!r.lacks().isEmpty()) {
            out.println("This QEMU lacks:");
            r.lacks().forEach(l -> out.println("  - " + l));
        }
        out.println(r.unexpected().isEmpty() && unrecordedMissing(r).isEmpty()
                ? "OK: this host can run Ferry." : "PROBLEMS: see above; run scripts/install-deps to get QEMU 10.");
    }

}
