package dev.procq.store;

import dev.procq.config.FailureBudget;
import java.util.Optional;

/**
 * One row of procq.job_type: the live, operator-steerable part of a job type. Every limit is
 * null when not set.
 *
 * @param exitCodes         the operator's exit-code rules as JSON text; null when the file's apply
 * @param globalConcurrency most children across all workers
 * @param keyConcurrency    most running per key across all workers
 * @param keyRate           most starts per second per key across all workers
 * @param rate              most starts per second of the type across all workers
 * @param haltFailed        the default failure budget of new batches, as procq.batch holds one...
 * @param haltSeeded        ...when true; false for a row from before V13, not yet seeded from the file
 */
public record JobTypeRow(String name, int concurrency, boolean paused, String exitCodes, Integer globalConcurrency,
                         Integer keyConcurrency, Double keyRate, Double rate, Long haltFailed, Double haltFailedPercent,
                         Long haltAfter, Long haltInARow, boolean haltSeeded) {
    /** The default failure budget of the type's new batches; empty while the file's applies (not seeded). */
    public Optional<FailureBudget> halt() {
        if (!haltSeeded) return Optional.empty();
        return Optional.of(new FailureBudget(haltFailed, haltFailedPercent, haltAfter, haltInARow));
    }
}
