package ferry.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import ferry.agent.AgentClient;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ferry plan VMID TARGET}: predicts a live migration without starting it. */
@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"Predicts a live migration of a running VM without migrating it: measures the guest's dirty rate "
                + "(QEMU's calc-dirty-rate over 200 ms, then over the rest of --sample to see whether it rewrites a working set, "
                + "and over 1 s more when a guest that writes shows none) "
                + "and zero pages, takes the link bandwidth from "
                + "--bwlimit (or the VM's limit) or measures it with a 1 s probe to the target, and prints for "
                + "each strategy the predicted passes, time, downtime and bytes, and which to use. Nothing changes.",
                "Exit codes: 0 done, 1 the measurement failed, 2 refused or bad usage."})
final class PlanCommand implements Callable<Integer> {
    @Mixin
    ClusterOption cluster;

    @Parameters(index = "0", paramLabel = "VMID", converter = VmIdConverter.class)
    int vmid;

    @Parameters(index = "1", paramLabel = "TARGET", description = "The target node.")
    String target;

    @Mixin
    BudgetOptions limits;

    @Option(names = "--with-local-disks", description = "Plan the mirror of a running VM's local volumes too.")
    boolean withLocalDisks;

    @Option(names = "--target-storage", paramLabel = "MAP", description = "Where local volumes go (see migrate).")
    String targetStorage;

    @Option(names = "--sample", paramLabel = "S", defaultValue = "3", description = "Seconds of dirty-rate sampling (default 3).")
    int sample;

    @Option(names = "--json", description = "Print the plan as one JSON object.")
    boolean json;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if (sample < 1 || sample > 60) {
            throw new UsageError("--sample must be between 1 and 60 seconds");
        }
        PrintWriter out = spec.commandLine().getOut();
        AgentClient source = cluster.ownerOf(vmid);
        ObjectNode req = limits.putInto(VmCommand.JSON.createObjectNode().put("target", target)
                .put("sample_seconds", sample).put("with_local_disks", withLocalDisks));
        if (targetStorage != null) {
            req.put("target_storage", targetStorage);
        }
        if (!json) {
            out.printf("measuring VM %d for %d s...%n", vmid, sample);
            out.flush();
        }
        JsonNode plan = source.post("/api/v1/vms/" + vmid + "/plan", req);
        if (json) {
            out.println(VmCommand.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(plan));
        } else {
            print(out, plan);
        }
        return Main.OK;
    }

    static void print(PrintWriter out, JsonNode plan) {
        JsonNode in = plan.path("inputs");
        out.printf(Locale.ROOT, "guest: %s RAM, %.0f%% zero pages, dirtying %.1f MiB/s%n",
                mib(in.path("ram_bytes").asLong()), in.path("zero_share").asDouble() * 100,
                in.path("dirty_bytes_per_s").asDouble() / 1048576);
        out.printf(Locale.ROOT, "link:  %.1f MiB/s (%s)%n", in.path("link_bytes_per_s").asDouble() / 1048576,
                in.path("link_source").asText());
        out.printf(Locale.ROOT, "budget: downtime %d ms, time limit %d s%n%n", in.path("max_downtime_ms").asLong(),
                in.path("max_duration_ms").asLong() / 1000);
        out.printf("%-16s %-10s %6s %9s %12s %10s  %s%n", "STRATEGY", "CONVERGES", "PASSES", "TIME", "DOWNTIME", "SENT", "NOTE");
        for (JsonNode p : plan.path("strategies")) {
            String verdict = !p.path("converges").asBoolean() ? "no" : p.path("fits_budget").asBoolean() ? "yes" : "over budget";
            out.printf(Locale.ROOT, "%-16s %-10s %6d %8.1fs %10.0fms %10s  %s%n", p.path("strategy").asText(), verdict,
                    p.path("passes").asInt(), p.path("seconds").asDouble(), p.path("downtime_ms").asDouble(),
                    mib(p.path("bytes").asLong()), p.path("note").asText());
        }
        out.printf("%nrecommended: %s - %s%n", plan.path("recommended").asText(), plan.path("reason").asText());
        if (!plan.path("disks").isEmpty()) {
            out.printf("%ndisks, mirrored before the RAM moves:%n");
            for (JsonNode d : plan.path("disks")) {
                out.printf(Locale.ROOT, "%-14s %-28s %10s  %-14s %7.1fs  %s%n", d.path("name").asText(),
                        d.path("volume").asText(), mib(d.path("bytes").asLong()), d.path("mode").asText(),
                        d.path("seconds").asDouble(), d.path("note").asText());
            }
            JsonNode disks = in.path("disks");
            out.printf(Locale.ROOT, "TIME above is the RAM's, after %.1f s of mirroring (%.0f s of the limit left for it)",
                    disks.path("mirror_seconds").asDouble(), in.path("ram_time_ms").asDouble() / 1000);
            if (disks.path("writes_share_the_link").asBoolean()) {
                out.printf(Locale.ROOT, "; the guest's disk writes (%.1f MiB/s) share the link, so the RAM was "
                        + "predicted at %.1f MiB/s", disks.path("write_bytes_per_s").asDouble() / 1048576,
                        in.path("ram_link_bytes_per_s").asDouble() / 1048576);
            }
            out.println();
        }
    }

    private static String mib(long bytes) {
        return String.format(Locale.ROOT, "%.0f MiB", bytes / 1048576.0);
    }
}
