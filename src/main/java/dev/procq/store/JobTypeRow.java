package dev.procq.store;

/**
 * One row of procq.job_type: the live, operator-steerable part of a job type.
 *
 * @param exitCodes the operator's exit-code rules as JSON text; null when the file's apply
 */
public record JobTypeRow(String name, int concurrency, boolean paused, String exitCodes) {
}
