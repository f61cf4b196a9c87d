package dev.procq.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** What the commands that act on one batch (cancel, pause, resume, retry) take: its id, --json and the API's options. */
abstract class BatchCommand implements Callable<Integer> {
    @ParentCommand
    ClientRoot root;

    @Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "BATCH_ID", description = "the batch to ${COMMAND-NAME}")
    long batchId;

    @Option(names = "--json", description = "print the API's JSON as it is")
    boolean json;

    @Mixin
    ClientOptions clientOptions;

    /** The batch id given; a usage error (exit 2) unless it is positive. */
    long id() {
        return ClientOptions.positiveId(spec.commandLine(), batchId);
    }
}
