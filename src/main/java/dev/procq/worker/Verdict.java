package dev.procq.worker;

import dev.procq.config.ExitCodeRules;
import dev.procq.config.HostLimits;
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

    /** The verdict under the file's exit-code rules for the type. */
    static AttemptResult of(ClaimedJob job, JobType type, ChildResult result, HeldJob.StopCause stopCause) {
        return of(job, type, type.exitCodes(), result, stopCause);
    }

    /** The verdict under {@code rules}: the type's exit-code rules as procq.job_type says now. */
    static AttemptResult of(ClaimedJob job, JobType type, ExitCodeRules rules, ChildResult result,
                            HeldJob.StopCause stopCause) {
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
                    ? result(job, result, JobState.CANCELLED, Outcome.LOST, "cancelled while running", Duration.ZERO, false, null)
                    : result(job, result, JobState.PENDING, Outcome.LOST, result.error(), Duration.ZERO, true, null);
        }
        if (result.outcome() != ChildResult.Outcome.STOPPED) {
            stopCause = null;
        } else if (stopCause == null) {
            // Only the launcher's own close stops a child no HeldJob asked to stop: a shutdown.
            stopCause = HeldJob.StopCause.SHUTDOWN;
        }
        if (stopCause == HeldJob.StopCause.CANCELLED) {
            return result(job, result, JobState.CANCELLED, Outcome.STOPPED, "cancelled while running", Duration.ZERO, false, null);
        }
        if (stopCause == HeldJob.StopCause.SHUTDOWN || stopCause == HeldJob.StopCause.LOW_MEMORY) {
            // Not the target's fault: back to PENDING now, and the attempt is not counted.
            String why = stopCause == HeldJob.StopCause.SHUTDOWN ? "worker shut down; handed back"
                    : "host memory below " + HostLimits.MEMFREE_KILL + "; stopped as the youngest child and handed back";
            return result(job, result, JobState.PENDING, Outcome.STOPPED, why, Duration.ZERO, true, null);
        }
        Ruling ruling = Ruling.of(rules, result);
        if (ruling.kind() == Ruling.Kind.OK) {
            return result(job, result, JobState.OK, Outcome.OK, null, Duration.ZERO, false, ruling.decidedBy());
        }
        Outcome outcome = switch (result.outcome()) {
            case TIMED_OUT -> Outcome.TIMEOUT;
            case SPAWN_FAILED -> Outcome.SPAWN_FAILED;
            default -> Outcome.FAILED;
        };
        String error = result.error() == null ? "failed" : result.error();
        if (outcome == Outcome.FAILED && oomKilled(result)) {
            // The kernel's OOM killer ended a process of the child's cgroup (at memory.max), and the
            // child failed: its own outcome, retried as a death by signal is (it was a SIGKILL).
            outcome = Outcome.OOM_KILLED;
            error = "out of memory: the kernel's OOM killer ended " + result.usage().oomKills()
                    + " process(es) of the job's cgroup (" + error + ")";
            ruling = rules.retryOnSignal() ? new Ruling(Ruling.Kind.RETRY, "retry: oom kill")
                    : new Ruling(Ruling.Kind.FAIL_NOW, "no retry: oom kill");
        }
        if (ruling.kind() == Ruling.Kind.RETRY && job.attempt() < job.maxAttempts()) {
            return result(job, result, JobState.PENDING, outcome, error,
                    RetryPolicy.delayAfter(job.attempt(), type.backoff()), false, ruling.decidedBy());
        }
        return result(job, result, JobState.FAILED, outcome, error, Duration.ZERO, false, ruling.decidedBy());
    }

    /**
     * What the exit-code rules make of a child that ended by itself, and the rule that said so,
     * as recorded in procq.job_attempt.decided_by ("failNow: exit 3", "retry: timeout").
     */
    record Ruling(Kind kind, String decidedBy) {
        enum Kind { OK, RETRY, FAIL_NOW }

        static Ruling of(ExitCodeRules rules, ChildResult result) {
            switch (result.outcome()) {
                case EXITED -> {
                    if (result.exitCode() == null) return new Ruling(Kind.RETRY, "default: no exit code");
                    int code = result.exitCode();
                    String exit = "exit " + code;
                    if (rules.ok().contains(code)) return new Ruling(Kind.OK, "ok: " + exit);
                    if (rules.failNow().contains(code)) return new Ruling(Kind.FAIL_NOW, "failNow: " + exit);
                    if (rules.retry() == null) return new Ruling(Kind.RETRY, "default: " + exit);
                    return rules.retry().contains(code)
                            ? new Ruling(Kind.RETRY, "retry: " + exit)
                            : new Ruling(Kind.FAIL_NOW, "no retry: " + exit);
                }
                case TIMED_OUT -> {
                    return rules.retryOnTimeout() ? new Ruling(Kind.RETRY, "retry: timeout")
                            : new Ruling(Kind.FAIL_NOW, "no retry: timeout");
                }
                case KILLED_BY_SIGNAL -> {
                    String signal = "signal " + result.signal();
                    return rules.retryOnSignal() ? new Ruling(Kind.RETRY, "retry: " + signal)
                            : new Ruling(Kind.FAIL_NOW, "no retry: " + signal);
                }
                case SPAWN_FAILED -> {
                    // The program could not be started (not found, not executable): no exit code
                    // for a rule to name, so it retries as any failure did before rules existed.
                    return new Ruling(Kind.RETRY, "default: spawn failed");
                }
                default -> {
                    return new Ruling(Kind.RETRY, "default: " + result.outcome().name().toLowerCase(java.util.Locale.ROOT));
                }
            }
        }
    }

    private static boolean oomKilled(ChildResult result) {
        return result.usage() != null && result.usage().oomKills() > 0;
    }

    /** A job claimed just as the worker began to shut down: handed back unstarted, not counted. */
    static AttemptResult handedBack(ClaimedJob job) {
        return new AttemptResult(job.id(), job.attempt(), JobState.PENDING, Outcome.STOPPED, null, null,
                "worker shut down; handed back", null, job.startedAt(), Duration.ZERO, Duration.ZERO, true,
                null, null, null, null);
    }

    /**
     * A job whose claim came back too late to start it within its lease (the worker stalled
     * between the claim and the start): handed back unstarted, not counted.
     */
    static AttemptResult tooLateToStart(ClaimedJob job) {
        return new AttemptResult(job.id(), job.attempt(), JobState.PENDING, Outcome.LOST, null, null,
                "claimed too late to start within its lease; handed back", null, job.startedAt(), Duration.ZERO,
                Duration.ZERO, true, null, null, null, null);
    }

    /**
     * A job that could not even be turned into a command (e.g. a missing {meta.NAME}): FAILED at
     * once, since every attempt would build the same command from the same row.
     */
    static AttemptResult unrunnable(ClaimedJob job, String error) {
        return new AttemptResult(job.id(), job.attempt(), JobState.FAILED, Outcome.SPAWN_FAILED, null, null, error,
                null, job.startedAt(), Duration.ZERO, Duration.ZERO, false, null, null, null,
                "no retry: no command for this target");
    }

    private static AttemptResult result(ClaimedJob job, ChildResult result, JobState next, Outcome outcome,
                                        String error, Duration retryDelay, boolean refund, String decidedBy) {
        // Unknown stays unknown (null), never 0: the ProcessBuilder backend cannot tell what a
        // child cost, and a 0 would read as "cost nothing" in every sum an operator makes.
        ResourceUsage usage = result.usage();
        return new AttemptResult(job.id(), job.attempt(), next, outcome, result.exitCode(), result.signal(), error,
                result.outputTail(), job.startedAt(), result.duration(), retryDelay, refund,
                usage == null ? null : usage.cpuUserMillis(),
                usage == null ? null : usage.cpuSystemMillis(),
                usage == null ? null : usage.maxRssKb(),
                decidedBy,
                usage == null ? null : usage.memoryPeakBytes());
    }
}
