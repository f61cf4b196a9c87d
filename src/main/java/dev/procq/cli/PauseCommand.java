package dev.procq.cli;

import picocli.CommandLine.Command;

/** procq pause: no worker starts more of a batch; running children finish. */
@Command(name = "pause", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Pause a batch: no worker starts another of its targets, from its next claim on (within",
                "a second or two); running children finish, PENDING targets stay PENDING. Undo with procq resume."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:paused", "1:no such batch, it is DONE or CANCELLED, or the API refused or could not be reached",
                "2:bad usage"})
public final class PauseCommand extends BatchCommand {
    @Override
    public Integer call() {
        Shell shell = root.shell();
        long id = id();
        BatchReply.print(shell, clientOptions.client(shell).pauseRaw(id), json, batch -> "batch " + batch.id() + " "
                + batch.state() + (batch.counts().running() > 0 ? ": " + batch.counts().running() + " running finish" : "")
                + "; resume it with: procq resume " + batch.id());
        return ExitCodes.OK;
    }
}
