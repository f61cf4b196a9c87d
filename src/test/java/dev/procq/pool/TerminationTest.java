package dev.procq.pool;

import static dev.procq.pool.Specs.shell;
import static dev.procq.pool.Specs.spec;
import static dev.procq.testing.LiveProcesses.uniqueSleepSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.pool.ChildResult.Outcome;
import dev.procq.testing.LiveProcesses;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class TerminationTest {

    private static final Duration SHORT_TIMEOUT = Duration.ofMillis(500);

    private final ChildLauncher launcher;

    TerminationTest(Backends backend) {
        this.launcher = backend.open();
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void timeoutKillsTheWholeProcessTree() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(
                shell("sleep \"$1\" & wait", seconds).withTimeout(SHORT_TIMEOUT));
        awaitSleepRunning(seconds);

        ChildResult result = child.result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(result.error()).isEqualTo("timed out after 500ms");
        assertThat(result.signal()).isEqualTo(15);
        assertThat(result.duration()).isGreaterThanOrEqualTo(SHORT_TIMEOUT);
        awaitSleepGone(seconds);
    }

    @Test
    void treeThatIgnoresTermIsKilledAfterTheGrace() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(shell("trap '' TERM; sleep \"$1\" & wait", seconds)
                .withTimeout(SHORT_TIMEOUT));
        awaitSleepRunning(seconds);

        ChildResult result = child.result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.TIMED_OUT);
        assertThat(result.signal()).isEqualTo(9);
        assertThat(result.duration()).isGreaterThanOrEqualTo(SHORT_TIMEOUT.plus(Specs.SHORT_KILL_GRACE));
        awaitSleepGone(seconds);
    }

    @Test
    void stopKillsTheWholeTreeAndKeepsTheReason() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(shell("sleep \"$1\" & wait", seconds));
        awaitSleepRunning(seconds);

        ChildResult result = child.stop("cancelled").join();

        assertThat(result.outcome()).isEqualTo(Outcome.STOPPED);
        assertThat(result.error()).isEqualTo("stopped: cancelled");
        assertThat(result.signal()).isEqualTo(15);
        awaitSleepGone(seconds);
    }

    @Test
    void grandchildLeftBehindByAnExitedChildIsKilled() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(shell(
                "sleep \"$1\" & " + Specs.LIVE_A_MOMENT + "; exit 3", seconds));

        ChildResult result = child.result().orTimeout(10, TimeUnit.SECONDS).join();

        assertThat(result.outcome()).isEqualTo(Outcome.EXITED);
        assertThat(result.exitCode()).isEqualTo(3);
        awaitSleepGone(seconds);
    }

    @Test
    void stopKillsAGrandchildThatOutlivesTheDirectChildAndIgnoresTerm() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(
                shell("(trap '' TERM; exec sleep \"$1\") & wait", seconds));
        awaitSleepRunning(seconds);

        ChildResult result = child.stop("lease lost").orTimeout(10, TimeUnit.SECONDS).join();

        assertThat(result.outcome()).isEqualTo(Outcome.STOPPED);
        assertThat(result.error()).isEqualTo("stopped: lease lost");
        awaitSleepGone(seconds);
    }

    @Test
    void stopFindsAGrandchildThatNoLongerHoldsTheOutput() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(shell(
                "(trap '' TERM; exec sleep \"$1\" >/dev/null 2>&1) & wait", seconds));
        awaitSleepRunning(seconds);

        ChildResult result = child.stop("cancelled").join();

        assertThat(result.outcome()).isEqualTo(Outcome.STOPPED);
        awaitSleepGone(seconds);
    }

    @Test
    void stopAfterTheChildExitedChangesNothing() {
        RunningChild child = launcher.start(spec("true"));
        child.result().join();

        ChildResult result = child.stop("too late").join();

        assertThat(result.outcome()).isEqualTo(Outcome.EXITED);
        assertThat(result.succeeded()).isTrue();
    }

    @Test
    void firstOfTimeoutAndStopDecidesTheOutcome() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(spec("sleep", seconds).withTimeout(Duration.ofMinutes(5)));
        awaitSleepRunning(seconds);

        child.stop("cancelled");
        ChildResult result = child.stop("shutdown").join();

        assertThat(result.error()).isEqualTo("stopped: cancelled");
    }

    @Test
    void closeStopsEveryChildAndWaitsForThem() {
        String polite = uniqueSleepSeconds();
        String stubborn = uniqueSleepSeconds();
        List<RunningChild> children = List.of(
                launcher.start(shell("sleep \"$1\" & wait", polite)),
                launcher.start(shell("trap '' TERM; sleep \"$1\" & wait", stubborn)),
                launcher.start(spec("sleep", uniqueSleepSeconds())));
        awaitSleepRunning(polite);
        awaitSleepRunning(stubborn);

        launcher.close();

        assertThat(children).allSatisfy(child -> {
            assertThat(child.result()).isDone();
            assertThat(child.result().join().outcome()).isEqualTo(Outcome.STOPPED);
            assertThat(child.result().join().error()).isEqualTo("stopped: shutdown");
        });
        assertThat(children.get(1).result().join().signal()).isEqualTo(9);
        assertThat(launcher.runningCount()).isZero();
        awaitSleepGone(polite);
        awaitSleepGone(stubborn);
    }

    static void awaitSleepRunning(String seconds) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                .until(() -> !LiveProcesses.running("sleep", seconds).isEmpty());
    }

    static void awaitSleepGone(String seconds) {
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50))
                .until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
    }
}
