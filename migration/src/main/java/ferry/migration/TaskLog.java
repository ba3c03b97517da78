package ferry.migration;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** A task's log: timestamped lines in the seed's style, kept with the task and streamed to followers. */
public final class TaskLog {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private final List<String> lines = new CopyOnWriteArrayList<>();
    private final List<Consumer<String>> followers = new CopyOnWriteArrayList<>();
    private final List<Consumer<Progress>> progressFollowers = new CopyOnWriteArrayList<>();
    private volatile Progress progress;

    public void info(String format, Object... args) {
        String line = LocalDateTime.now().format(TIME) + " " + (args.length == 0 ? format : String.format(format, args));
        lines.add(line);
        for (Consumer<String> f : followers) {
            f.accept(line);
        }
    }

    /** Takes the lines a task logged before this agent started (its log file), so line numbers go on. */
    public void restore(List<String> earlier) {
        lines.addAll(earlier);
    }

    public void warn(String format, Object... args) {
        info("WARNING: " + format, args);
    }

    public void error(String format, Object... args) {
        info("ERROR: " + format, args);
    }

    public List<String> lines() {
        return List.copyOf(lines);
    }

    /** Lines from index {@code from} on (for polling clients). */
    public List<String> since(int from) {
        List<String> all = new ArrayList<>(lines);
        return from >= all.size() ? List.of() : all.subList(Math.max(0, from), all.size());
    }

    /** The task's latest progress, or null before there is any. */
    public Progress progress() {
        return progress;
    }

    public void progress(Progress p) {
        progress = p;
        for (Consumer<Progress> f : progressFollowers) {
            f.accept(p);
        }
    }

    /** Calls {@code follower} with every progress sample from now on (metrics, live charts). */
    public void followProgress(Consumer<Progress> follower) {
        progressFollowers.add(follower);
    }

    public void unfollowProgress(Consumer<Progress> follower) {
        progressFollowers.remove(follower);
    }

    /** Calls {@code follower} with every line logged from now on. */
    public void follow(Consumer<String> follower) {
        followers.add(follower);
    }

    public void unfollow(Consumer<String> follower) {
        followers.remove(follower);
    }
}
