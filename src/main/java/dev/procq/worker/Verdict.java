package dev.procq.worker;

import dev.procq.config.JobType;
import dev.procq.pool.ChildResult;
import dev.procq.pool.ResourceUsage;
import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimedJob;
import dev.procq.store.JobState;
import dev.procq.store.Outcome;
import java.time.Duration;

/** Decides what an ended child means for its job: OK, a retry, FAILED, CANCELLED or a hand-back. */
final class Verdict {
    private Verdict() {
    }

    static AttemptResult of(ClaimedJob job, JobType type, ChildResult result, HeldJob.StopCause stopCause) {
        // A stop that came after the child had ended by itself did not stop anything: a job that
        // finished just as its batch was cancelled or its worker shut down keeps its real outcome,
        // so a completed job is neither run again nor reported CANCELLED.
        if (result.outcome() == ChildResult.Outcome.LOST || result.outcome() == ChildResult.Outcome.FENCED) {
            // The helper that ran the child died and took the child's group with it, or the
            // worker ended the child because it could not renew the lease in time: not the
            // target's fault, so the job runs again at once and the attempt is not counted;
            // unless its batch was cancelled meanwhile, which a lost child must not undo. (After
            // a fence the job has usually been rescued already, and this write is fenced out.)
            return stopCause == HeldJob.StopCause.CANCELLED
                    ? result(job, result, JobState.CANCELLED, Outcome.LOST, "cancelled while running", Duration.ZERO, false)
                    : result(job, result, JobState.PENDING, Outcome.LOST, result.error(), Duration.ZERO, true);
        }
        if (result.outcome() != ChildResult.Outcome.STOPPED) {
            stopCause = null;
        } else if (stopCause == null) {
            // Only the launcher's own close stops a child no HeldJob asked to stop: a shutdown.
            stopCause = HeldJob.StopCause.SHUTDOWN;
        }
        if (stopCause == HeldJob.StopCause.CANCELLED) {
            return result(job, result, JobState.CANCELLED, Outcome.STOPPED, "cancelled while running", Duration.ZERO, false);
        }
        if (stopCause == HeldJob.StopCause.SHUTDOWN) {
            // Not the target's fault: back to PENDING now, and the attempt is not counted.
            return result(job, result, JobState.PENDING, Outcome.STOPPED, "worker shut down; handed back", Duration.ZERO, true);
        }
        if (result.succeeded()) {
            return result(job, result, JobState.OK, Outcome.OK, null, Duration.ZERO, false);
        }
        Outcome outcome = switch (result.outcome()) {
            case TIMED_OUT -> Outcome.TIMEOUT;
            case SPAWN_FAILED -> Outcome.SPAWN_FAILED;
            default -> Outcome.FAILED;
        };
        String error = result.error() == null ? "failed" : result.error();
        if (job.attempt() < job.maxAttempts()) {
            return result(job, result, JobState.PENDING, outcome, error,
                    RetryPolicy.delayAfter(job.attempt(), type.backoff()), false);
        }
        return result(job, result, JobState.FAILED, outcome, error, Duration.ZERO, false);
    }

    /** A job claimed just as the worker began to shut down: handed back unstarted, not counted. */
    static AttemptResult handedBack(ClaimedJob job) {
        return new AttemptResult(job.id(), job.attempt(), JobState.PENDING, Outcome.STOPPED, null, null,
                "worker shut down; handed back", null, job.startedAt(), Duration.ZERO, Duration.ZERO, true,
                null, null, null);
    }

    /**
     * A job whose claim came back too late to start it within its lease (the worker stalled
     * between the claim and the start): handed back unstarted, not counted.
     */
    static AttemptResult tooLateToStart(ClaimedJob job) {
        return new AttemptResult(job.id(), job.attempt(), JobState.PENDING, Outcome.LOST, null, null,
                "claimed too late to start within its lease; handed back", null, job.startedAt(), Duration.ZERO,
                Duration.ZERO, true, null, null, null);
    }

    /** A job that could not even be turned into a command (e.g. a missing {meta.NAME}). */
    static AttemptResult unrunnable(ClaimedJob job, String error) {
        return new AttemptResult(job.id(), job.attempt(), JobState.FAILED, Outcome.SPAWN_FAILED, null, null, error,
                null, job.startedAt(), Duration.ZERO, Duration.ZERO, false, null, null, null);
    }

    private static AttemptResult result(ClaimedJob job, ChildResult result, JobState next, Outcome outcome,
                                        String error, Duration retryDelay, boolean refund) {
        // Unknown stays unknown (null), never 0: the ProcessBuilder backend cannot tell what a
        // child cost, and a 0 would read as "cost nothing" in every sum an operator makes.
        ResourceUsage usage = result.usage();
        return new AttemptResult(job.id(), job.attempt(), next, outcome, result.exitCode(), result.signal(), error,
                result.outputTail(), job.startedAt(), result.duration(), retryDelay, refund,
                usage == null ? null : usage.cpuUserMillis(),
                usage == null ? null : usage.cpuSystemMillis(),
                usage == null ? null : usage.maxRssKb());
    }
}
