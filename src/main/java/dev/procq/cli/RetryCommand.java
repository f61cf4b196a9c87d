package dev.procq.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** procq retry: a batch's FAILED targets run again. */
@Command(name = "retry", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a batch's FAILED targets again, each with a fresh allowance of attempts.",
                "A cancelled batch is resumed. With --wait, follow it like submit --wait."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:queued again (with --wait: every target OK)",
                "1:no such batch, or the API refused or could not be reached; with --wait: a target FAILED again",
                "2:bad usage"})
public final class RetryCommand implements Callable<Integer> {
    @ParentCommand
    ClientRoot root;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "BATCH_ID", description = "the batch whose FAILED targets to run again")
    long batchId;

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
        ApiClient api = clientOptions.client(shell);
        long failedBefore = api.batch(id).counts().failed();
        BatchReply.print(shell, api.retryRaw(id), json, batch -> failedBefore == 0
                ? "batch " + id + " has no FAILED targets; nothing to run again"
                : "batch " + id + ": " + failedBefore + " FAILED targets are PENDING again");
        return waitOptions.follow(api, shell, id);
    }
}
