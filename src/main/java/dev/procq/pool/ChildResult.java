package dev.procq.pool;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.Objects;

/**
 * How a child ended.
 *
 * @param outcome what ended it
 * @param exitCode the exit code when the child exited by itself; {@code null} when a signal
 *     ended it or it never started
 * @param signal the signal that ended the child; {@code null} when it exited or never started
 * @param duration from the start to the exit of the child
 * @param error a short human reason for the failure; {@code null} on success
 * @param outputTail the last bytes of merged stdout and stderr, decoded as UTF-8 leniently
 * @param usage CPU time and peak memory of the child; {@code null} when the backend that ran it
 *     cannot tell (the ProcessBuilder backend) or it never started
 */
public record ChildResult(
        Outcome outcome,
        Integer exitCode,
        Integer signal,
        Duration duration,
        String error,
        String outputTail,
        ResourceUsage usage) {

    public enum Outcome {
        /** The child exited by itself, with any exit code. */
        EXITED,
        /** A signal nobody here sent ended the child: a crash, a resource limit, an operator. */
        KILLED_BY_SIGNAL,
        /** The child ran past its timeout and was ended. */
        TIMED_OUT,
        /** {@link RunningChild#stop(String)} ended the child. */
        STOPPED,
        /** The child never ran. */
        SPAWN_FAILED,
        /**
         * The child's deadline ({@link RunningChild#fenceAt}) passed and it was ended, by the spawn
         * helper or by the JVM, whichever came first: its worker could no longer be sure that it
         * held the job's lease.
         */
        FENCED,
        /**
         * What became of the child is unknown: the spawn helper that ran it died. Its process
         * group has been killed; the attempt is nobody's failure.
         */
        LOST
    }

    public ChildResult {
        Objects.requireNonNull(outcome, "outcome");
        Objects.requireNonNull(duration, "duration");
        Objects.requireNonNull(outputTail, "outputTail");
    }

    public boolean succeeded() {
        return outcome == Outcome.EXITED && exitCode != null && exitCode == 0;
    }

    static ChildResult exited(int exitCode, Duration duration, String outputTail) {
        return new ChildResult(Outcome.EXITED, exitCode, null, duration,
                exitCode == 0 ? null : "exit code " + exitCode, outputTail, null);
    }

    static ChildResult killedBy(int signal, Duration duration, String outputTail) {
        return new ChildResult(Outcome.KILLED_BY_SIGNAL, null, signal, duration,
                Signal.describeDeath(signal), outputTail, null);
    }

    static ChildResult timedOut(Duration timeout, Integer exitCode, Integer signal,
            Duration duration, String outputTail) {
        return new ChildResult(Outcome.TIMED_OUT, exitCode, signal, duration,
                "timed out after " + shortText(timeout), outputTail, null);
    }

    static ChildResult stopped(String reason, Integer exitCode, Integer signal, Duration duration,
            String outputTail) {
        return new ChildResult(Outcome.STOPPED, exitCode, signal, duration, "stopped: " + reason,
                outputTail, null);
    }

    static ChildResult fenced(Integer exitCode, Integer signal, Duration duration, String outputTail) {
        return new ChildResult(Outcome.FENCED, exitCode, signal, duration,
                "ended at its deadline: the lease could not be renewed in time", outputTail, null);
    }

    static ChildResult spawnFailed(String error, Duration duration) {
        return new ChildResult(Outcome.SPAWN_FAILED, null, null, duration, error, "", null);
    }

    static ChildResult lost(String why, Duration duration, String outputTail) {
        return new ChildResult(Outcome.LOST, null, null, duration, why, outputTail, null);
    }

    /**
     * How a child that was ended ends up described: by what procq did to it, if it did anything
     * ({@code endedAs} TIMED_OUT, STOPPED or FENCED, else null), otherwise by what the kernel said.
     */
    static ChildResult ended(Outcome endedAs, String stopReason, Duration timeout,
            Integer exitCode, Integer signal, Duration duration, String outputTail) {
        if (endedAs == Outcome.TIMED_OUT) {
            return timedOut(timeout, exitCode, signal, duration, outputTail);
        }
        if (endedAs == Outcome.STOPPED) {
            return stopped(stopReason, exitCode, signal, duration, outputTail);
        }
        if (endedAs == Outcome.FENCED) {
            return fenced(exitCode, signal, duration, outputTail);
        }
        if (signal != null) {
            return killedBy(signal, duration, outputTail);
        }
        return exited(exitCode, duration, outputTail);
    }

    /** The same result with what the child cost; {@code usage} may be null. */
    ChildResult withUsage(ResourceUsage resourceUsage) {
        return new ChildResult(outcome, exitCode, signal, duration, error, outputTail,
                resourceUsage);
    }

    /** "500ms", "2s", "1.5s", "1m30s", "2h": short enough for an error column. */
    static String shortText(Duration duration) {
        long millis = duration.toMillis();
        if (millis < 1000) {
            return millis + "ms";
        }
        if (millis % 1000 != 0) {
            return BigDecimal.valueOf(millis, 3).stripTrailingZeros().toPlainString() + "s";
        }
        long seconds = millis / 1000;
        StringBuilder text = new StringBuilder();
        if (seconds >= 3600) {
            text.append(seconds / 3600).append('h');
        }
        if (seconds % 3600 >= 60) {
            text.append(seconds % 3600 / 60).append('m');
        }
        if (seconds % 60 != 0) {
            text.append(seconds % 60).append('s');
        }
        return text.toString();
    }
}
