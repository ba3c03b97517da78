package ferry.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ferry} command: subcommands for operators; exit codes are part of the interface. */
@Command(name = "ferry", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Live-migrates QEMU/KVM virtual machines between hosts.",
        subcommands = {DemoCommand.class, DrillCommand.class, MigrateCommand.class, NodeCommand.class, PlanCommand.class, BenchCommand.class, VmCommand.class, ClusterCommand.class, TaskCommand.class,
                AgentCommand.class, DoctorCommand.class, CompletionCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    /**
     * Exit codes: 0 done, 1 failed, 2 usage or validation error, 3 finished with problems, 4 not
     * finished or unknown (a hand-over is pending, or contact with the agent was lost).
     */
    static final int OK = 0;
    static final int FAILED = 1;
    static final int USAGE = 2;
    static final int PROBLEMS = 3;
    static final int UNKNOWN = 4;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The command tree, with errors reported as one line (the message says what to do next). */
    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("ferry: " + e.getMessage());
            int code = exitCode(e);
            if (wantsJson(cmd) && !(e instanceof OutcomeUnknown u && u.isReported())) {
                // a script that asked for JSON reads stdout: one object there too, never nothing
                cmd.getOut().println(VmCommand.JSON.createObjectNode().put("status", statusOf(code))
                        .put("error", e.getMessage()).put("exit_code", code).toPrettyString());
                cmd.getOut().flush();
            }
            return code;
        });
        // bad arguments: what is wrong and where help is, not the whole usage text
        cl.setParameterExceptionHandler((e, args) -> {
            CommandLine cmd = e.getCommandLine();
            // a converter's own words (e.g. the VMID range) under the option's name say it better than
            // picocli's wrapper around them
            cmd.getErr().println("ferry: " + (e.getCause() instanceof CommandLine.TypeConversionException t
                    && e.getArgSpec() != null ? nameOf(e.getArgSpec()) + " " + t.getMessage() : e.getMessage()));
            if (!CommandLine.UnmatchedArgumentException.printSuggestions(e, cmd.getErr())) {
                cmd.getErr().println("Try '" + cmd.getCommandSpec().qualifiedName() + " --help'.");
            }
            return USAGE;
        });
        return cl;
    }

    /** How the user wrote an argument: the option's longest name, or a parameter's label (VMID). */
    private static String nameOf(CommandLine.Model.ArgSpec arg) {
        return arg instanceof CommandLine.Model.OptionSpec o ? o.longestName() : arg.paramLabel();
    }

    private static boolean wantsJson(CommandLine cmd) {
        return cmd.getCommandSpec().findOption("--json") != null && cmd.getParseResult() != null
                && cmd.getParseResult().hasMatchedOption("--json");
    }

    /** The word for an exit code in a JSON error: refused (2, nothing changed), unknown (4), failed. */
    static String statusOf(int exitCode) {
        return switch (exitCode) {
            case USAGE -> "refused";
            case UNKNOWN -> "unknown";
            default -> "failed";
        };
    }

    /** Refusals and bad input are usage errors (2): nothing changed; a lost agent is unknown (4); else failed (1). */
    static int exitCode(Exception e) {
        if (e instanceof UsageError || e instanceof IllegalArgumentException) {
            return USAGE;
        }
        if (e instanceof OutcomeUnknown) {
            return UNKNOWN;
        }
        if (e instanceof ferry.agent.AgentClient.AgentException a) {
            return a.status() >= 400 && a.status() < 500 ? USAGE : FAILED;
        }
        if (e instanceof ferry.cluster.ClusterException c) {
            return c.reason() == ferry.cluster.ClusterException.Reason.IO ? FAILED : USAGE;
        }
        return FAILED;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
