package dev.procq.cli;

import dev.procq.config.FailureBudget;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** procq resume: a paused or halted batch runs again, optionally with a fresh failure budget. */
@Command(name = "resume", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Resume a paused or halted batch: workers start its PENDING targets again. Lifting a halt",
                "starts the failure budget's count afresh; --budget also replaces the budget itself."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:resumed (with --wait: every target OK)",
                "1:no such batch, it is DONE or CANCELLED, or the API refused or could not be reached;"
                        + " with --wait: a target FAILED or the batch halted again",
                "2:bad usage"})
public final class ResumeCommand extends BatchCommand {
    @Option(names = "--budget", paramLabel = "RULES",
            description = "a fresh failure budget: failed=N, failedPercent=P,after=M, inARow=K (comma-separated),"
                    + " or none for no budget")
    String budget;

    @Mixin
    WaitOptions waitOptions;

    @Override
    public Integer call() throws InterruptedException {
        Shell shell = root.shell();
        long id = id();
        FailureBudget halt = budget == null ? null : ClientOptions.budget(spec.commandLine(), "--budget", budget);
        ApiClient api = clientOptions.client(shell);
        BatchReply.print(shell, api.resumeRaw(id, halt), json, batch -> "batch " + batch.id() + " " + batch.state());
        return waitOptions.follow(api, shell, id);
    }

}
