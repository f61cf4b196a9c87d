package dev.procq.store;

import java.time.OffsetDateTime;

/** One row of procq.job_attempt: how one run of a job ended. */
public record AttemptRow(
        long jobId,
        int attempt,
        Long workerId,
        OffsetDateTime startedAt,
        OffsetDateTime finishedAt,
        String outcome,
        Integer exitCode,
        Integer signal,
        long durationMs,
        String error,
        String outputTail) {
}
