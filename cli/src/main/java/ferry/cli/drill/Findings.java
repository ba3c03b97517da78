package ferry.cli.drill;

import java.util.ArrayList;
import java.util.List;

/**
 * What the checks of one scenario found: the counters of the report (each must stay 0), the
 * checks made, the outcome in words and the details a person needs to look into a failure.
 */
final class Findings {
    int lost;
    int duplicated;
    int staleLocks;
    int orphans;
    int manualSteps;
    final List<String> checked = new ArrayList<>();
    final List<String> outcomes = new ArrayList<>();
    final List<String> details = new ArrayList<>();

    boolean clean() {
        return lost + duplicated + staleLocks + orphans + manualSteps == 0;
    }

    void check(String what) {
        if (!checked.contains(what)) {
            checked.add(what);
        }
    }

    void add(Findings o) {
        lost += o.lost;
        duplicated += o.duplicated;
        staleLocks += o.staleLocks;
        orphans += o.orphans;
        manualSteps += o.manualSteps;
        o.checked.forEach(this::check);
        outcomes.addAll(o.outcomes);
        details.addAll(o.details);
    }
}
