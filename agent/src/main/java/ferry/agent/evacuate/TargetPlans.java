package ferry.agent.evacuate;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The order in which an evacuation offers one running VM to its targets, from the plan each
 * target gave (the plan the web UI's migrate dialog shows): first the targets whose plan finishes
 * within the limits of the policy the migration runs with, then those whose plan does not, each
 * group in free-memory order; a target whose prepare refuses the VM is left out with prepare's
 * words. When some target's plan could not be made at all, the plans are not comparable and the
 * VM goes by free memory alone, which its placement says.
 */
final class TargetPlans {
    /** What planning one target gave: a plan, prepare's refusal, or a failure to plan. */
    record Verdict(JsonNode plan, String refusal, String failure) {
        static Verdict planned(JsonNode plan) {
            return new Verdict(plan, null, null);
        }

        static Verdict refused(String why) {
            return new Verdict(null, why, null);
        }

        static Verdict failed(String why) {
            return new Verdict(null, null, why);
        }
    }

    /**
     * The targets to try in order, those left out with why, and for each target tried how it was
     * placed (a row's {@code placement}).
     */
    record Ranking(List<String> order, Map<String, String> refusals, Map<String, String> placements) {}

    private TargetPlans() {}

    /** Without plans (a stopped VM has nothing to converge): free-memory order, saying why. */
    static Ranking byMemory(List<String> byMemory, String why) {
        Map<String, String> placements = new LinkedHashMap<>();
        byMemory.forEach(n -> placements.put(n, "by free memory (" + why + ")"));
        return new Ranking(List.copyOf(byMemory), Map.of(), placements);
    }

    /**
     * @param byMemory the candidates, most free memory first
     * @param verdicts what planning each candidate gave
     */
    static Ranking rank(List<String> byMemory, Map<String, Verdict> verdicts) {
        Map<String, String> refusals = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        List<String> within = new ArrayList<>();
        List<String> beyond = new ArrayList<>();
        for (String n : byMemory) {
            Verdict v = verdicts.get(n);
            if (v.refusal() != null) {
                refusals.put(n, v.refusal());
            } else if (v.failure() != null || !v.plan().path("prediction").isObject()) {
                failures.add(n + ": " + (v.failure() != null ? v.failure()
                        : "its plan names no outcome for the policy (an agent older than this client?)"));
            } else if (withinLimits(v.plan())) {
                within.add(n);
            } else {
                beyond.add(n);
            }
        }
        if (!failures.isEmpty()) {
            List<String> left = byMemory.stream().filter(n -> !refusals.containsKey(n)).toList();
            Ranking r = byMemory(left, "no plan from " + String.join("; ", failures));
            return new Ranking(r.order(), refusals, r.placements());
        }
        Map<String, String> placements = new LinkedHashMap<>();
        List<String> order = new ArrayList<>(within);
        order.addAll(beyond);
        order.forEach(n -> placements.put(n, describe(verdicts.get(n).plan())));
        return new Ranking(List.copyOf(order), refusals, placements);
    }

    /**
     * The plan finishes within the time limit, and for the budget policy within its downtime too
     * (the other policies have no downtime bound of their own: they end when time runs out).
     */
    static boolean withinLimits(JsonNode plan) {
        JsonNode p = plan.path("prediction");
        return p.path("converges").asBoolean(false)
                && (!"budget".equals(plan.path("policy").asText()) || p.path("fits_budget").asBoolean(false));
    }

    /** One line for a row: what the plan predicts with the VM's policy. */
    static String describe(JsonNode plan) {
        JsonNode p = plan.path("prediction");
        String head = String.format(Locale.ROOT, "plan (%s, %s): %.1f s, downtime %.0f ms", plan.path("policy").asText(),
                p.path("strategy").asText(), p.path("seconds").asDouble(), p.path("downtime_ms").asDouble());
        return withinLimits(plan) ? head + ", within the policy's limits"
                : head + ", beyond the policy's limits (" + p.path("note").asText() + ")";
    }
}
