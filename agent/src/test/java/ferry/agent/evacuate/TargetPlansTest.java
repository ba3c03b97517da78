package ferry.agent.evacuate;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import ferry.agent.ApiJson;
import ferry.agent.evacuate.TargetPlans.Verdict;
import ferry.migration.Plan;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The order an evacuation offers a VM to its targets, from plans the planner itself computes
 * (serialized as the plan route answers): the plan outranks free memory, a refusing target is
 * left out with its reason, and a target without a plan sends the VM back to free-memory order.
 * Real QEMU runs behind the same ranking in EvacuateCliTest and AgentEvacuateTest.
 */
class TargetPlansTest {
    private static final double MIB = 1048576;

    /** A 1 GiB guest over a link of {@code linkMiBps} dirtying {@code dirtyMiBps}: budget 100 ms, 60 s. */
    private static JsonNode plan(String policy, double dirtyMiBps, double linkMiBps) {
        Plan p = Plan.of(new Plan.Inputs(1L << 30, 0.2, dirtyMiBps * MIB, 512L << 20, linkMiBps * MIB, "test", 100,
                60_000, false, false, false)).forRun(policy);
        return ApiJson.MAPPER.valueToTree(p);
    }

    private static Map<String, Verdict> verdicts(Object... targetAndVerdict) {
        Map<String, Verdict> m = new LinkedHashMap<>();
        for (int i = 0; i < targetAndVerdict.length; i += 2) {
            m.put((String) targetAndVerdict[i], (Verdict) targetAndVerdict[i + 1]);
        }
        return m;
    }

    @Test
    void aTargetWhosePlanConvergesGoesBeforeOneWithMoreFreeMemory() {
        JsonNode slow = plan("budget", 40, 20); // dirties faster than the link carries
        JsonNode fast = plan("budget", 1, 1000);
        assertThat(TargetPlans.withinLimits(slow)).as(slow.toString()).isFalse();
        assertThat(TargetPlans.withinLimits(fast)).as(fast.toString()).isTrue();

        // b has more free memory; memory alone would offer the VM to b first
        TargetPlans.Ranking r = TargetPlans.rank(List.of("b", "c"),
                verdicts("b", Verdict.planned(slow), "c", Verdict.planned(fast)));
        assertThat(r.order()).containsExactly("c", "b");
        assertThat(r.refusals()).isEmpty();
        assertThat(r.placements().get("c")).startsWith("plan (budget, budget:precopy)").contains("within the policy's limits");
        assertThat(r.placements().get("b")).contains("beyond the policy's limits");

        // plans alike: free memory decides
        r = TargetPlans.rank(List.of("b", "c"), verdicts("b", Verdict.planned(fast), "c", Verdict.planned(fast)));
        assertThat(r.order()).containsExactly("b", "c");
        r = TargetPlans.rank(List.of("b", "c"), verdicts("b", Verdict.planned(slow), "c", Verdict.planned(slow)));
        assertThat(r.order()).containsExactly("b", "c");
    }

    @Test
    void aRefusingTargetIsLeftOutWithItsReason() {
        JsonNode fast = plan("budget", 1, 1000);
        TargetPlans.Ranking r = TargetPlans.rank(List.of("b", "c"), verdicts(
                "b", Verdict.refused("target node 'b' has 1.0 GiB of memory for VMs"), "c", Verdict.planned(fast)));
        assertThat(r.order()).containsExactly("c");
        assertThat(r.refusals()).containsExactly(Map.entry("b", "target node 'b' has 1.0 GiB of memory for VMs"));
    }

    @Test
    void withoutAPlanFromSomeTargetTheVmGoesByFreeMemoryAndSaysWhy() {
        JsonNode slow = plan("budget", 40, 20);
        JsonNode fast = plan("budget", 1, 1000);
        TargetPlans.Ranking r = TargetPlans.rank(List.of("a", "b", "c", "d"), verdicts(
                "a", Verdict.planned(slow), "b", Verdict.failed("QMP: connection reset"),
                "c", Verdict.refused("locked"), "d", Verdict.planned(fast)));
        assertThat(r.order()).as("memory order, without the refusing target").containsExactly("a", "b", "d");
        assertThat(r.refusals()).containsOnlyKeys("c");
        assertThat(r.placements().get("a")).isEqualTo("by free memory (no plan from b: QMP: connection reset)");

        // an agent that answers without the policy's outcome counts as no plan
        JsonNode old = fast.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) old).remove("prediction");
        r = TargetPlans.rank(List.of("b", "c"), verdicts("b", Verdict.planned(slow), "c", Verdict.planned(old)));
        assertThat(r.order()).containsExactly("b", "c");
        assertThat(r.placements().get("b")).startsWith("by free memory (no plan from c: its plan names no outcome");
    }
}
