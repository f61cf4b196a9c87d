package dev.procq.cli;

import dev.procq.config.FailureBudget;
import dev.procq.config.Priority;
import java.io.FileNotFoundException;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** procq submit: records a batch through the API, prints its id, and with --wait follows it to the end. */
@Command(name = "submit", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Submit a batch of targets of one job type and print the batch id.",
                "Targets come from the arguments, from --file (one per line, - for stdin), from stdin when it",
                "is not a terminal, or from a directory scan on the server (--scan). Files and stdin are",
                "streamed, so a batch of millions of lines needs no memory. Put -- before targets that start with -."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:submitted (with --wait: every target OK)",
                "1:the API refused or could not be reached; with --wait: a target FAILED, or the batch was cancelled or HALTED",
                "2:bad usage"})
public final class SubmitCommand implements Callable<Integer> {
    @ParentCommand
    ClientRoot root;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = {"-t", "--type"}, required = true, paramLabel = "TYPE", description = "job type, as in the job-types file")
    String type;

    @Parameters(paramLabel = "TARGET", arity = "0..*", description = "targets (file paths, URLs, ids: any string)")
    List<String> targets = new ArrayList<>();

    @Option(names = {"-f", "--file"}, paramLabel = "FILE", description = "read targets from FILE, one per line; - for stdin")
    String file;

    @Option(names = "--scan", paramLabel = "ROOT:GLOB",
            description = "let the server list the targets: files under scan root ROOT (a name from the server's "
                    + "PROCQ_SCAN_ROOTS) matching GLOB, e.g. photos:**/*.jpg")
    String scan;

    @Option(names = {"-p", "--priority"}, paramLabel = "N",
            description = "claim order across batches, " + Priority.RANGE + ": lower runs first (default 0)")
    Integer priority;

    @Option(names = "--halt", paramLabel = "RULES",
            description = "the batch's failure budget instead of its type's: failed=N, failedPercent=P,after=M,"
                    + " inARow=K (comma-separated), or none; past it the batch HALTS: nothing more starts")
    String halt;

    @Option(names = "--webhook", paramLabel = "NAME",
            description = "announce the batch's end (DONE, CANCELLED, HALTED) with a signed POST to NAME, a destination"
                    + " from the API's PROCQ_WEBHOOK_ALLOWLIST (or a URL it allows)")
    String webhook;

    @Option(names = "--idempotency-key", paramLabel = "KEY",
            description = "submitting again with the same key returns the first batch instead of a new one")
    String idempotencyKey;

    @Mixin
    WaitOptions waitOptions;

    @Mixin
    ClientOptions clientOptions;

    @Override
    public Integer call() throws Exception {
        Shell shell = root.shell();
        Submission submission = submission(shell);
        ApiClient api = clientOptions.client(shell);
        ApiClient.Receipt receipt = submission.send(api);
        shell.out().println(receipt.id());
        shell.out().flush();
        if (shell.stderrIsTerminal() && !waitOptions.waits()) {
            shell.err().println("batch " + receipt.id() + ": " + receipt.total() + " targets of type " + receipt.type()
                    + (receipt.replayed() ? " (submitted before with this idempotency key)" : "")
                    + "; follow it with: procq status " + receipt.id());
        }
        return waitOptions.follow(api, shell, receipt.id());
    }

    /** One way of sending the targets, chosen and checked before anything is sent. */
    @FunctionalInterface
    interface Submission {
        ApiClient.Receipt send(ApiClient api);
    }

    Submission submission(Shell shell) {
        if (priority != null && !Priority.inRange(priority)) {
            throw usage("--priority must be in " + Priority.RANGE + ", got " + priority);
        }
        FailureBudget budget = halt == null ? null : ClientOptions.budget(spec.commandLine(), "--halt", halt);
        int ways = (targets.isEmpty() ? 0 : 1) + (file == null ? 0 : 1) + (scan == null ? 0 : 1);
        if (ways > 1) throw usage("give the targets one way: as arguments, with --file, or with --scan");
        if (!targets.isEmpty()) {
            return api -> api.submitTargets(type, targets, priority, idempotencyKey, budget, webhook);
        }
        if (scan != null) {
            int colon = scan.indexOf(':');
            if (colon <= 0 || colon == scan.length() - 1) {
                throw usage("--scan takes ROOT:GLOB, e.g. photos:**/*.jpg; got '" + scan + "'");
            }
            String root = scan.substring(0, colon);
            String glob = scan.substring(colon + 1);
            return api -> api.submitScan(type, root, glob, priority, idempotencyKey, budget, webhook);
        }
        if (file == null && shell.stdinIsTerminal()) {
            throw usage("no targets: give them as arguments, with --file FILE, on stdin (a pipe), or with --scan ROOT:GLOB");
        }
        BodyPublisher lines = file == null || file.equals("-")
                ? BodyPublishers.ofInputStream(shell::in)
                : fileLines(Path.of(file));
        return api -> api.submitLines(type, lines, priority, idempotencyKey, budget, webhook);
    }

    private BodyPublisher fileLines(Path path) {
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw usage("--file " + path + ": no such readable file");
        }
        try {
            return BodyPublishers.ofFile(path);
        } catch (FileNotFoundException e) {
            throw usage("--file " + path + ": " + e.getMessage());
        }
    }

    private CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
