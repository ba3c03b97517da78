package ferry.migration.policy;

import ferry.migration.MigrationResult;
import java.util.ArrayList;
import java.util.List;

/** A {@link ConvergencePolicy.Control} that records what a policy asked for; {@code stop} throws, as the real one does. */
final class RecordingControl implements ConvergencePolicy.Control {
    final List<String> actions = new ArrayList<>();
    final List<String> log = new ArrayList<>();

    @Override
    public void setDowntime(long ms, String reason) {
        actions.add("downtime " + ms);
        log.add(reason);
    }

    @Override
    public void setParameter(String name, long value, String reason) {
        actions.add(name + " " + value);
        log.add(reason);
    }

    @Override
    public void startPostcopy(String reason) {
        actions.add("postcopy");
        log.add(reason);
    }

    @Override
    public void pauseGuest(String reason) {
        actions.add("pause");
        log.add(reason);
    }

    @Override
    public void stop(MigrationResult.Status outcome, String reason) {
        actions.add("stop " + outcome);
        log.add(reason);
        throw new Stopped(reason);
    }

    @Override
    public void log(String format, Object... args) {
        log.add(String.format(format, args));
    }

    static final class Stopped extends RuntimeException {
        Stopped(String reason) {
            super(reason);
        }
    }
}
