package ferry.cli.drill;

import java.util.List;

/** One scenario's line in the report. {@code error}: the drill itself could not carry it out. */
record ScenarioResult(String name, String outcome, Findings findings, List<String> notes, String error, long seconds) {
    boolean passed() {
        return error == null && findings.clean();
    }
}
