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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every way a child can end, under one set of exit-code rules: the next state and the rule
 * recorded. (ExitCodeRulesTest runs the same rules with real children and a real worker.)
 */
class ExitCodeVerdictTest {
    static final JobType TYPE = JobTypes.parse("""
            types:
              fetch:
                command: ["curl", "{target}"]
                maxAttempts: 3
                exitCodes:
                  ok: [0, 1]
                  failNow: [3, "64-78"]
                  retry: [7, 28]
                  retryOnSignal: false
            """, "verdict test").find("fetch").orElseThrow();

    static ClaimedJob attempt(int attempt) {
        return new ClaimedJob(7, 3, "fetch", "x", null, attempt, 3, null, null);
    }

    static ChildResult exited(int code) {
        return new ChildResult(ChildResult.Outcome.EXITED, code, null, Duration.ofMillis(5),
                code == 0 ? null : "exit code " + code, "", null);
    }

    @ParameterizedTest(name = "exit {0}")
    @CsvSource({
            "0,  OK,      OK,     ok: exit 0",
            "1,  OK,      OK,     ok: exit 1",
            "3,  FAILED,  FAILED, failNow: exit 3",
            "70, FAILED,  FAILED, failNow: exit 70",
            "7,  PENDING, FAILED, retry: exit 7",
            "28, PENDING, FAILED, retry: exit 28",
            "2,  FAILED,  FAILED, no retry: exit 2",
    })
    void anExitCodeIsDecidedByTheFirstListThatNamesIt(int code, JobState next, Outcome outcome, String decidedBy) {
        AttemptResult verdict = Verdict.of(attempt(1), TYPE, exited(code), null);
        assertThat(verdict.next()).isEqualTo(next);
        assertThat(verdict.outcome()).isEqualTo(outcome);
        assertThat(verdict.decidedBy()).isEqualTo(decidedBy);
        assertThat(verdict.exitCode()).isEqualTo(code);
        assertThat(verdict.refundAttempt()).isFalse();
    }

    @Test
    void aRetryableCodeOnTheLastAttemptFailsAndStillNamesItsRule() {
        AttemptResult verdict = Verdict.of(attempt(3), TYPE, exited(7), null);
        assertThat(verdict.next()).isEqualTo(JobState.FAILED);
        assertThat(verdict.decidedBy()).isEqualTo("retry: exit 7");
    }

    @Test
    void timeoutsSignalsAndSpawnFailuresFollowTheirFlags() {
        ChildResult timedOut = new ChildResult(ChildResult.Outcome.TIMED_OUT, null, 15, Duration.ofSeconds(1),
                "timed out after 1s", "", null);
        ChildResult killed = new ChildResult(ChildResult.Outcome.KILLED_BY_SIGNAL, null, 11, Duration.ofSeconds(1),
                "killed by signal 11 (SIGSEGV)", "", null);
        ChildResult notFound = new ChildResult(ChildResult.Outcome.SPAWN_FAILED, null, null, Duration.ZERO,
                "program not found: curl", "", null);

        assertThat(Verdict.of(attempt(1), TYPE, timedOut, null))
                .satisfies(v -> assertThat(v.next()).isEqualTo(JobState.PENDING))
                .satisfies(v -> assertThat(v.outcome()).isEqualTo(Outcome.TIMEOUT))
                .satisfies(v -> assertThat(v.decidedBy()).isEqualTo("retry: timeout"));
        assertThat(Verdict.of(attempt(1), TYPE, killed, null))
                .satisfies(v -> assertThat(v.next()).isEqualTo(JobState.FAILED))
                .satisfies(v -> assertThat(v.decidedBy()).isEqualTo("no retry: signal 11"));
        assertThat(Verdict.of(attempt(1), TYPE, notFound, null))
                .satisfies(v -> assertThat(v.next()).isEqualTo(JobState.PENDING))
                .satisfies(v -> assertThat(v.decidedBy()).isEqualTo("default: spawn failed"));
    }

    @Test
    void endsThatAreNotTheTargetsDoingNameNoRule() {
        ChildResult stopped = new ChildResult(ChildResult.Outcome.STOPPED, null, 15, Duration.ofSeconds(1),
                "stopped: cancelled", "", null);
        AttemptResult cancelled = Verdict.of(attempt(1), TYPE, stopped, HeldJob.StopCause.CANCELLED);
        assertThat(cancelled.next()).isEqualTo(JobState.CANCELLED);
        assertThat(cancelled.decidedBy()).isNull();
        AttemptResult handedBack = Verdict.of(attempt(1), TYPE, stopped, HeldJob.StopCause.SHUTDOWN);
        assertThat(handedBack.next()).isEqualTo(JobState.PENDING);
        assertThat(handedBack.decidedBy()).isNull();
    }
}
