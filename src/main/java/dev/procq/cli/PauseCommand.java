package dev.procq.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** procq pause: no worker starts more of a batch; running children finish. */
@Command(name = "pause", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Pause a batch: no worker starts another of its targets, from its next claim on (within",
                "a second or two); running children finish, PENDING targets stay PENDING. Undo with procq resume."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:paused", "1:no such batch, it is DONE or CANCELLED, or the API refused or could not be reached",
                "2:bad usage"})
public final class PauseCommand implements Callable<Integer> {
    @ParentCommand
    ClientRoot root;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "BATCH_ID", description = "the batch to pause")
    long batchId;

    @Option(names = "--json", description = "print the API's JSON as it is")
    boolean json;

    @Mixin
    ClientOptions clientOptions;

    @Override
    public Integer call() {
        Shell shell = root.shell();
        long id = ClientOptions.positiveId(spec.commandLine(), batchId);
        BatchReply.print(shell, clientOptions.client(shell).pauseRaw(id), json, batch -> "batch " + batch.id() + " "
                + batch.state() + (batch.counts().running() > 0 ? ": " + batch.counts().running() + " running finish" : "")
                + "; resume it with: procq resume " + batch.id());
        return ExitCodes.OK;
    }
}
