package ferry.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How to start this CLI again as a separate process, as a person would type it: through the
 * launcher that started this one ({@code ./ferry} or the tarball's {@code bin/ferry}, which set
 * {@code FERRY_LAUNCHER}), so the child gets the same JDK, options and class archive. Started any
 * other way (a test), the same JVM and class path are used.
 */
final class CliRelaunch {
    static final String LAUNCHER = "FERRY_LAUNCHER";

    private CliRelaunch() {}

    static List<String> command() {
        String launcher = System.getenv(LAUNCHER);
        if (launcher != null && Files.isExecutable(Path.of(launcher))) {
            return List.of(launcher);
        }
        return List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), Main.class.getName());
    }

    /** The command for a report: the launcher, or that it is a bare JVM (no class archive). */
    static String describe(List<String> command) {
        return command.size() == 1 ? command.get(0) : "java -cp ... " + Main.class.getName() + " (no launcher, no class archive)";
    }
}
