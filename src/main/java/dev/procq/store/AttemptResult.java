package dev.procq.store;

import java.time.Duration;
import java.time.OffsetDateTime;

/**
 * What a worker writes when an attempt ends: the job's next state (a final state, or
 * PENDING again for a retry or a hand-back) and the attempt's record.
 *
 * @param retryDelay for {@code next == PENDING}: how long before the job may be claimed again
 * @param refundAttempt true when the attempt must not count against maxAttempts (shutdown hand-back)
 * @param cpuUserMs CPU time the child spent in user mode, milliseconds; null when unknown
 * @param cpuSystemMs CPU time the kernel spent on the child's behalf, milliseconds; null when unknown
 * @param maxRssKb the child's peak resident memory, kilobytes; null when unknown
 * @param decidedBy the exit-code rule that decided the outcome ("failNow: exit 3"); null when none applied
 * @param memoryPeakBytes the peak memory of the child's cgroup (memory.peak); null without one
 */
public record AttemptResult(
        long jobId,
        int attempt,
        JobState next,
        Outcome outcome,
        Integer exitCode,
        Integer signal,
        String error,
        String outputTail,
        OffsetDateTime startedAt,
        Duration duration,
        Duration retryDelay,
        boolean refundAttempt,
        Long cpuUserMs,
        Long cpuSystemMs,
        Long maxRssKb,
        String decidedBy,
        Long memoryPeakBytes) {

    /** An attempt of a child that ran without a cgroup (or never ran): no memory.peak. */
    public AttemptResult(long jobId, int attempt, JobState next, Outcome outcome, Integer exitCode, Integer signal,
            String error, String outputTail, OffsetDateTime startedAt, Duration duration, Duration retryDelay,
            boolean refundAttempt, Long cpuUserMs, Long cpuSystemMs, Long maxRssKb, String decidedBy) {
        this(jobId, attempt, next, outcome, exitCode, signal, error, outputTail, startedAt, duration, retryDelay,
                refundAttempt, cpuUserMs, cpuSystemMs, maxRssKb, decidedBy, null);
    }
}
