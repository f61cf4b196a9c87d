package dev.procq.store;

import java.time.OffsetDateTime;

/**
 * One row of procq.job_attempt: how one run of a job ended, and what it cost ({@code cpuUserMs},
 * {@code cpuSystemMs}, {@code maxRssKb}: null when the backend that ran it could not tell), and the
 * exit-code rule that decided it ({@code decidedBy}: null when none applied), and the peak memory of
 * its cgroup ({@code memoryPeakBytes}: null without one).
 */
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
        String outputTail,
        Long cpuUserMs,
        Long cpuSystemMs,
        Long maxRssKb,
        String decidedBy,
        Long memoryPeakBytes) {
}
