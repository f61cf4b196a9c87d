package dev.procq.cli;

import java.util.Optional;
import java.util.OptionalDouble;
import java.util.function.Function;

/** How the batch commands (cancel, pause, resume, retry) print the batch the API answered with. */
final class BatchReply {
    private BatchReply() {
    }

    /**
     * Prints {@code raw} as it is with {@code --json}, else {@code headline} of the batch and its
     * progress line; returns the batch.
     */
    static BatchStatus print(Shell shell, String raw, boolean json, Function<BatchStatus, String> headline) {
        BatchStatus batch = ApiClient.read(raw, BatchStatus.class);
        if (json) {
            shell.out().println(raw);
        } else {
            shell.out().println(headline.apply(batch));
            shell.out().println(ProgressLine.render(batch, OptionalDouble.empty(), Optional.empty()));
        }
        shell.out().flush();
        return batch;
    }
}
