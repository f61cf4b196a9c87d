package dev.procq;

import dev.procq.cli.CancelCommand;
import dev.procq.cli.ClientRoot;
import dev.procq.cli.ExitCodes;
import dev.procq.cli.PauseCommand;
import dev.procq.cli.ResumeCommand;
import dev.procq.cli.RetryCommand;
import dev.procq.cli.ScheduleCommand;
import dev.procq.cli.Shell;
import dev.procq.cli.StatusCommand;
import dev.procq.cli.SubmitCommand;
import dev.procq.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** procq: record targets fast (phase 1), run one child process per target (phase 2). */
@Command(name = "procq", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"A two-phase persistent job queue: record targets in PostgreSQL at once,",
                "run one external program per target in a concurrency-limited worker pool."},
        subcommands = {
                ServerCommands.Dev.class,
                ServerCommands.Api.class,
                ServerCommands.WorkerDaemon.class,
                ServerCommands.Migrate.class,
                SubmitCommand.class,
                StatusCommand.class,
                CancelCommand.class,
                RetryCommand.class,
                PauseCommand.class,
                ResumeCommand.class,
                ScheduleCommand.class,
        },
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:the work failed (e.g. a target FAILED, the server refused)", "2:bad usage or configuration"})
public final class Main implements Runnable, ClientRoot {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final Shell shell;

    private Main(Shell shell) {
        this.shell = shell;
    }

    /** Streams, terminals and environment of this run, for the client commands. */
    @Override
    public Shell shell() {
        return shell;
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    public static int run(String... args) {
        return run(Shell.system(), args);
    }

    /** Runs a command with the given streams and environment; the client commands read both from here. */
    public static int run(Shell shell, String... args) {
        CommandLine commandLine = new CommandLine(new Main(shell));
        commandLine.setOut(shell.out());
        commandLine.setErr(shell.err());
        commandLine.setExecutionExceptionHandler((e, cmd, parseResult) -> {
            if (e instanceof ConfigException) {
                cmd.getErr().println("procq: " + e.getMessage());
                return ExitCodes.USAGE;
            }
            cmd.getErr().println("procq: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return ExitCodes.FAILED;
        });
        try {
            return commandLine.execute(args);
        } finally {
            shell.out().flush();
            shell.err().flush();
        }
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a command: dev, api, worker, migrate, submit, status, cancel, retry");
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"procq " + (version == null ? "development build" : version)};
        }
    }
}
