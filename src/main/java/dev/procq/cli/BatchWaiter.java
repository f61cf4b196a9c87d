package dev.procq.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Follows a batch until no job will change any more, or it halts (its failure budget ran out: it
 * would wait for an operator).  A paused batch is waited for. On a terminal the progress line is redrawn
 * in place; elsewhere (a log, a CI job) a plain line is printed every {@code plainEvery}, plus
 * the first and the last. While the API is unreachable it keeps waiting and says so once.
 */
final class BatchWaiter {
    static final Duration POLL = Duration.ofMillis(500);
    private static final String CLEAR_TO_END_OF_LINE = "\033[K";

    private final ApiClient client;
    private final PrintWriter err;
    private final boolean inPlace;
    private final Duration plainEvery;
    private final int columns;

    BatchWaiter(ApiClient client, Shell shell, Duration plainEvery) {
        this.client = client;
        this.err = shell.err();
        this.inPlace = shell.stderrIsTerminal();
        this.plainEvery = plainEvery;
        this.columns = shell.columns();
    }

    BatchStatus await(long batchId) throws InterruptedException {
        Rate rate = new Rate();
        long lastPlainLine = 0;
        boolean printedAny = false;
        boolean unreachable = false;
        while (true) {
            BatchStatus status;
            try {
                status = client.batch(batchId);
            } catch (ApiException e) {
                if (!e.isTransient()) {
                    if (inPlace && printedAny) err.println();
                    throw e;
                }
                if (!unreachable) {
                    err.println((inPlace ? "\r" + CLEAR_TO_END_OF_LINE : "") + "procq: " + e.getMessage() + "; still waiting");
                    err.flush();
                }
                unreachable = true;
                Thread.sleep(POLL.toMillis());
                continue;
            }
            unreachable = false;
            long now = System.nanoTime();
            rate.add(now, status.finished());
            OptionalDouble perSecond = rate.perSecond();
            Optional<Duration> eta = rate.eta(status.counts().pending() + status.counts().running());
            if (inPlace) {
                err.print("\r" + ProgressLine.fitted(status, perSecond, eta, columns) + CLEAR_TO_END_OF_LINE);
                if (status.isOver() || status.isHalted()) err.println();
                err.flush();
            } else if (!printedAny || status.isOver() || status.isHalted() || now - lastPlainLine >= plainEvery.toNanos()) {
                err.println(ProgressLine.render(status, perSecond, eta));
                err.flush();
                lastPlainLine = now;
            }
            printedAny = true;
            if (status.isOver() || status.isHalted()) return status;
            Thread.sleep(POLL.toMillis());
        }
    }

    /** The closing line after a wait, and the exit code: 0 only when every target is OK (so never for a halt). */
    static int conclude(BatchStatus batch, PrintWriter err) {
        BatchStatus.Counts c = batch.counts();
        StringBuilder summary = new StringBuilder("batch ").append(batch.id()).append(' ').append(batch.state());
        if (batch.startedAt() != null && batch.finishedAt() != null) {
            summary.append(" in ").append(ProgressLine.duration(Duration.between(batch.startedAt(), batch.finishedAt())));
        }
        summary.append(": ").append(c.ok()).append(" OK, ").append(c.failed()).append(" FAILED");
        if (c.cancelled() > 0) summary.append(", ").append(c.cancelled()).append(" CANCELLED");
        if (c.running() > 0) summary.append(", ").append(c.running()).append(" still stopping");
        err.println(summary);
        if (batch.isHalted()) {
            err.println("batch " + batch.id() + " halted: " + SafeText.of(String.valueOf(batch.haltReason())) + "; its "
                    + c.pending() + " PENDING targets wait: procq resume " + batch.id() + " [--budget ...], or procq cancel " + batch.id());
        }
        if (c.failed() > 0) {
            err.println("the failed targets and why: procq status " + batch.id() + "; run them again: procq retry " + batch.id());
        }
        err.flush();
        return batch.allOk() ? ExitCodes.OK : ExitCodes.FAILED;
    }
}
