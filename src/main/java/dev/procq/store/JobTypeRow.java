package dev.procq.store;

/**
 * One row of procq.job_type: the live, operator-steerable part of a job type. Every limit is
 * null when not set.
 *
 * @param exitCodes         the operator's exit-code rules as JSON text; null when the file's apply
 * @param globalConcurrency most children across all workers
 * @param keyConcurrency    most running per key across all workers
 * @param keyRate           most starts per second per key across all workers
 * @param rate              most starts per second of the type across all workers
 */
public record JobTypeRow(String name, int concurrency, boolean paused, String exitCodes, Integer globalConcurrency,
                         Integer keyConcurrency, Double keyRate, Double rate) {
}
