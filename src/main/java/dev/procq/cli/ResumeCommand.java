package dev.procq.cli;

import dev.procq.config.FailureBudget;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** procq resume: a paused or halted batch runs again, optionally with a fresh failure budget. */
@Command(name = "resume", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Resume a paused or halted batch: workers start its PENDING targets again. Lifting a halt",
                "starts the failure budget's count afresh; --budget also replaces the budget itself."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:resumed (with --wait: every target OK)",
                "1:no such batch, it is DONE or CANCELLED, or the API refused or could not be reached;"
                        + " with --wait: a target FAILED or the batch halted again",
                "2:bad usage"})
public final class ResumeCommand implements Callable<Integer> {
    @ParentCommand
    ClientRoot root;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "BATCH_ID", description = "the batch to resume")
    long batchId;

    @Option(names = "--budget", paramLabel = "RULES",
            description = "a fresh failure budget: failed=N, failedPercent=P,after=M, inARow=K (comma-separated),"
                    + " or none for no budget")
    String budget;

    @Option(names = "--json", description = "print the API's JSON as it is")
    boolean json;

    @Mixin
    WaitOptions waitOptions;

    @Mixin
    ClientOptions clientOptions;

    @Override
    public Integer call() throws InterruptedException {
        Shell shell = root.shell();
        long id = ClientOptions.positiveId(spec.commandLine(), batchId);
        FailureBudget halt = budget == null ? null : ClientOptions.budget(spec.commandLine(), "--budget", budget);
        ApiClient api = clientOptions.client(shell);
        BatchReply.print(shell, api.resumeRaw(id, halt), json, batch -> "batch " + batch.id() + " " + batch.state());
        return waitOptions.follow(api, shell, id);
    }

}
