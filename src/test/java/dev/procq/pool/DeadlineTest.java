package dev.procq.pool;

import static dev.procq.pool.Specs.shell;
import static dev.procq.pool.Specs.spec;
import static dev.procq.testing.LiveProcesses.uniqueSleepSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.pool.ChildResult.Outcome;
import dev.procq.testing.LiveProcesses;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** A child's deadline ({@link RunningChild#fenceAt}): how a worker ends children whose lease it can no longer vouch for. */
@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class DeadlineTest {

    private final ChildLauncher launcher;

    DeadlineTest(Backends backend) {
        this.launcher = backend.open();
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void aChildStillRunningAtItsDeadlineIsEndedWithItsWholeTree() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(shell("sleep \"$1\" & wait", seconds));
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).size() == 1);
        long setAt = System.nanoTime();
        child.fenceAt(setAt + Duration.ofMillis(300).toNanos());

        ChildResult result = child.result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.FENCED);
        assertThat(result.signal()).isEqualTo(15);
        assertThat(result.error()).isEqualTo("ended at its deadline: the lease could not be renewed in time");
        assertThat(Duration.ofNanos(System.nanoTime() - setAt)).isBetween(Duration.ofMillis(300), Duration.ofSeconds(5));
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
    }

    @Test
    void aLaterDeadlineReplacesTheEarlierOne() throws Exception {
        RunningChild child = launcher.start(spec("sleep", "30"));
        long start = System.nanoTime();
        child.fenceAt(start + Duration.ofMillis(300).toNanos());
        child.fenceAt(start + Duration.ofMillis(1500).toNanos());
        Thread.sleep(800);
        assertThat(child.result().isDone()).as("ended before its moved deadline").isFalse();

        ChildResult result = child.result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.FENCED);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(1500));
    }

    @Test
    void aChildThatIgnoresTermIsKilledAfterTheGrace() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(shell("trap '' TERM; sleep \"$1\" & wait", seconds));
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).size() == 1);
        long setAt = System.nanoTime();
        child.fenceAt(setAt);

        ChildResult result = child.result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.FENCED);
        assertThat(result.signal()).isEqualTo(9);
        assertThat(Duration.ofNanos(System.nanoTime() - setAt)).isGreaterThanOrEqualTo(Specs.SHORT_KILL_GRACE);
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
    }

    @Test
    void aChildThatEndsBeforeItsDeadlineKeepsItsOwnOutcome() throws Exception {
        RunningChild child = launcher.start(shell("exit 3"));
        child.fenceAt(System.nanoTime() + Duration.ofSeconds(1).toNanos());

        ChildResult result = child.result().join();
        Thread.sleep(1200);

        assertThat(result.outcome()).isEqualTo(Outcome.EXITED);
        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(child.result().join()).isEqualTo(result);
    }

    @Test
    void aStopBeforeTheDeadlineKeepsItsReason() {
        RunningChild child = launcher.start(spec("sleep", "30"));
        child.fenceAt(System.nanoTime() + Duration.ofSeconds(2).toNanos());

        ChildResult result = child.stop("cancelled").join();

        assertThat(result.outcome()).isEqualTo(Outcome.STOPPED);
        assertThat(result.error()).isEqualTo("stopped: cancelled");
    }
}
