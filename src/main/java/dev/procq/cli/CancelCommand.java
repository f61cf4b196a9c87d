package dev.procq.cli;

import picocli.CommandLine.Command;

/** procq cancel: PENDING targets become CANCELLED, running ones are stopped. */
@Command(name = "cancel", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Cancel a batch: its PENDING targets become CANCELLED at once and the workers stop its",
                "running children within a second or two. Finished targets keep their result."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:cancelled", "1:no such batch, or the API refused or could not be reached", "2:bad usage"})
public final class CancelCommand extends BatchCommand {
    @Override
    public Integer call() {
        Shell shell = root.shell();
        long id = id();
        BatchReply.print(shell, clientOptions.client(shell).cancelRaw(id), json, batch -> "batch " + batch.id() + " "
                + batch.state() + (batch.counts().running() > 0 ? ": stopping " + batch.counts().running() + " running" : ""));
        return ExitCodes.OK;
    }
}
