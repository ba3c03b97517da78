package ferry.agent.web;

import ferry.migration.Progress;
import ferry.migration.TaskLog;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The progress samples of this agent's recent tasks, kept so that a chart opened mid-migration
 * (or after it) shows the whole curve, not only what came after the page loaded.
 */
public final class ProgressHistory {
    /** Tasks remembered; older ones are dropped first. */
    static final int TASKS = 50;
    /** Samples per task (an hour at one a second); the oldest go first. */
    static final int SAMPLES = 3600;

    /** A task's samples; {@code dropped} counts those let go, so indices stay absolute. */
    private static final class Samples {
        final List<Progress> kept = new ArrayList<>();
        int dropped;
    }

    private final Map<String, Samples> byTask = new LinkedHashMap<>(16, 0.75f, false) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Samples> eldest) {
            return size() > TASKS;
        }
    };

    /** Keeps every sample {@code log} publishes from now on under {@code taskId}. */
    public void follow(String taskId, TaskLog log) {
        synchronized (byTask) {
            byTask.put(taskId, new Samples());
        }
        log.followProgress(p -> add(taskId, p));
    }

    private void add(String taskId, Progress p) {
        synchronized (byTask) {
            Samples samples = byTask.get(taskId);
            if (samples != null) {
                if (samples.kept.size() >= SAMPLES) {
                    samples.kept.remove(0);
                    samples.dropped++;
                }
                samples.kept.add(p);
            }
        }
    }

    /** Samples and the index to ask from next time. */
    public record Page(List<Progress> samples, int next) {}

    /** The samples of {@code taskId} from index {@code from} on (none for a task not followed). */
    public Page since(String taskId, int from) {
        synchronized (byTask) {
            Samples samples = byTask.get(taskId);
            if (samples == null) {
                return new Page(List.of(), from);
            }
            int start = Math.max(0, from - samples.dropped);
            int next = samples.dropped + samples.kept.size();
            return start >= samples.kept.size() ? new Page(List.of(), next)
                    : new Page(List.copyOf(samples.kept.subList(start, samples.kept.size())), next);
        }
    }
}
