package dev.procq.store;

/** One row of procq.job_type: the live, operator-steerable part of a job type. */
public record JobTypeRow(String name, int concurrency, boolean paused) {
}
