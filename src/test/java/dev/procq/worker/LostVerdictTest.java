package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.pool.ChildResult;
import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimedJob;
import dev.procq.store.JobState;
import dev.procq.store.Outcome;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** A child whose spawn helper died: handed back uncounted, unless its batch was cancelled. */
class LostVerdictTest {

    static final JobType TYPE = JobTypes.parse("""
            types:
              once:
                command: ["true", "{target}"]
                maxAttempts: 1
            """, "lost verdict test").find("once").orElseThrow();
    static final ClaimedJob JOB = new ClaimedJob(7, 3, "once", "x", null, 1, 1, null, null);
    static final ChildResult LOST = new ChildResult(ChildResult.Outcome.LOST, null, null, Duration.ofMillis(40),
            "the spawn helper died (killed by signal 9) while the child ran", "", null);

    @Test
    void lostAttemptGoesBackToPendingAtOnceWithoutCounting() {
        AttemptResult verdict = Verdict.of(JOB, TYPE, LOST, null);

        assertThat(verdict.next()).isEqualTo(JobState.PENDING);
        assertThat(verdict.outcome()).isEqualTo(Outcome.LOST);
        assertThat(verdict.refundAttempt()).isTrue();
        assertThat(verdict.retryDelay()).isZero();
        assertThat(verdict.error()).startsWith("the spawn helper died");
    }

    @Test
    void lostAttemptOfACancelledBatchStaysCancelled() {
        AttemptResult verdict = Verdict.of(JOB, TYPE, LOST, HeldJob.StopCause.CANCELLED);

        assertThat(verdict.next()).isEqualTo(JobState.CANCELLED);
        assertThat(verdict.outcome()).isEqualTo(Outcome.LOST);
        assertThat(verdict.refundAttempt()).isFalse();
    }

    @Test
    void lostAttemptDuringShutdownIsHandedBackLikeAnyOther() {
        AttemptResult verdict = Verdict.of(JOB, TYPE, LOST, HeldJob.StopCause.SHUTDOWN);

        assertThat(verdict.next()).isEqualTo(JobState.PENDING);
        assertThat(verdict.refundAttempt()).isTrue();
    }
}
