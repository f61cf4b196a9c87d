package dev.procq.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** procq cancel: PENDING targets become CANCELLED, running ones are stopped. */
@Command(name = "cancel", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Cancel a batch: its PENDING targets become CANCELLED at once and the workers stop its",
                "running children within a second or two. Finished targets keep their result."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:cancelled", "1:no such batch, or the API refused or could not be reached", "2:bad usage"})
public final class CancelCommand implements Callable<Integer> {
    @ParentCommand
    ClientRoot root;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "BATCH_ID", description = "the batch to cancel")
    long batchId;

    @Option(names = "--json", description = "print the API's JSON as it is")
    boolean json;

    @Mixin
    ClientOptions clientOptions;

    @Override
    public Integer call() {
        Shell shell = root.shell();
        long id = ClientOptions.positiveId(spec.commandLine(), batchId);
        BatchReply.print(shell, clientOptions.client(shell).cancelRaw(id), json, batch -> "batch " + batch.id() + " "
                + batch.state() + (batch.counts().running() > 0 ? ": stopping " + batch.counts().running() + " running" : ""));
        return ExitCodes.OK;
    }
}
