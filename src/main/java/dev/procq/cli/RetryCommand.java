package dev.procq.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** procq retry: a batch's FAILED targets run again. */
@Command(name = "retry", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run a batch's FAILED targets again, each with a fresh allowance of attempts.",
                "A cancelled batch is resumed. With --wait, follow it like submit --wait."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:queued again (with --wait: every target OK)",
                "1:no such batch, or the API refused or could not be reached; with --wait: a target FAILED again",
                "2:bad usage"})
public final class RetryCommand extends BatchCommand {
    @Mixin
    WaitOptions waitOptions;

    @Override
    public Integer call() throws InterruptedException {
        Shell shell = root.shell();
        long id = id();
        ApiClient api = clientOptions.client(shell);
        long failedBefore = api.batch(id).counts().failed();
        BatchReply.print(shell, api.retryRaw(id), json, batch -> failedBefore == 0
                ? "batch " + id + " has no FAILED targets; nothing to run again"
                : "batch " + id + ": " + failedBefore + " FAILED targets are PENDING again");
        return waitOptions.follow(api, shell, id);
    }
}
