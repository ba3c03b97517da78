package ferry.migration.policy;

import ferry.migration.Plan;
import java.time.Duration;

/** A policy with one concern added: it passes everything to {@code policy}; subclasses add to {@link #step}. */
abstract class ForwardingPolicy implements ConvergencePolicy {
    private final ConvergencePolicy policy;

    ForwardingPolicy(ConvergencePolicy policy) {
        this.policy = policy;
    }

    @Override
    public String name() {
        return policy.name();
    }

    @Override
    public Setup setup() {
        return policy.setup();
    }

    @Override
    public void planned(Plan plan) {
        policy.planned(plan);
    }

    @Override
    public void step(Sample s, Control control) {
        policy.step(s, control);
    }

    @Override
    public boolean pollsAtEachPass() {
        return policy.pollsAtEachPass();
    }

    @Override
    public Duration pollWithin() {
        return policy.pollWithin();
    }
}
