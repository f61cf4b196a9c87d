package dev.procq.cli;

import java.time.Duration;
import picocli.CommandLine.Option;

/** --wait and --progress-every, for the commands that can follow a batch to its end: submit, retry, resume. */
public final class WaitOptions {
    @Option(names = {"-w", "--wait"},
            description = "follow the batch with a progress bar until it is done or halts; exit 1 unless every target is OK")
    boolean wait;

    @Option(names = "--progress-every", paramLabel = "DURATION", defaultValue = "10s",
            converter = ClientOptions.DurationConverter.class,
            description = "with --wait and stderr not a terminal: print a progress line this often (default: ${DEFAULT-VALUE})")
    Duration progressEvery;

    boolean waits() {
        return wait;
    }

    /** The command's exit code: 0 at once without --wait; with it, the batch's once it is done. */
    int follow(ApiClient api, Shell shell, long batchId) throws InterruptedException {
        if (!wait) return ExitCodes.OK;
        BatchStatus done = new BatchWaiter(api, shell, progressEvery).await(batchId);
        return BatchWaiter.conclude(done, shell.err());
    }
}
