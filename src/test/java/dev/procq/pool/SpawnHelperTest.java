package dev.procq.pool;

import static dev.procq.pool.Specs.shell;
import static dev.procq.pool.Specs.spec;
import static dev.procq.testing.LiveProcesses.uniqueSleepSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.pool.ChildResult.Outcome;
import dev.procq.testing.LiveProcesses;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What only the spawn helper gives: exact statuses, costs, no thread per child, crash recovery. */
class SpawnHelperTest {

    private final SpawnHelperLauncher launcher = (SpawnHelperLauncher) Backends.NATIVE.open();

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void exitCodesAbove128AreExitCodesAndSignalsAreSignals() {
        ChildResult exit130 = launcher.start(shell("exit 130")).result().join();
        ChildResult exit137 = launcher.start(shell("exit 137")).result().join();
        ChildResult interrupted = launcher.start(shell("kill -INT $$")).result().join();
        ChildResult killed = launcher.start(shell("kill -KILL $$")).result().join();

        assertThat(exit130.outcome()).isEqualTo(Outcome.EXITED);
        assertThat(exit130.exitCode()).isEqualTo(130);
        assertThat(exit130.signal()).isNull();
        assertThat(exit137.exitCode()).isEqualTo(137);
        assertThat(interrupted.outcome()).isEqualTo(Outcome.KILLED_BY_SIGNAL);
        assertThat(interrupted.signal()).isEqualTo(2);
        assertThat(interrupted.exitCode()).isNull();
        assertThat(killed.signal()).isEqualTo(9);
    }

    @Test
    void failedExecIsReportedWithItsStageAndErrnoNotAsExitCode127() throws Exception {
        java.nio.file.Path notAProgram = java.nio.file.Files.createTempFile("procq-not-a-program", "");
        try {
            java.nio.file.Files.write(notAProgram, new byte[] {0x7f, 'E', 'L', 'F', 0, 0, 0, 0});
            notAProgram.toFile().setExecutable(true);

            ChildResult result = launcher.start(spec(notAProgram.toString())).result().join();

            assertThat(result.outcome()).isEqualTo(Outcome.SPAWN_FAILED);
            assertThat(result.exitCode()).isNull();
            assertThat(result.error()).isEqualTo("cannot execute the program: Exec format error (errno 8)");
        } finally {
            java.nio.file.Files.delete(notAProgram);
        }
    }

    @Test
    void stopsSentBeforeTheExecIsConfirmedStillEndTheChild() {
        String seconds = uniqueSleepSeconds();
        List<RunningChild> children = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            RunningChild child = launcher.start(spec("sleep", seconds));
            child.stop("at once");
            children.add(child);
        }

        for (RunningChild child : children) {
            ChildResult result = child.result().join();
            assertThat(result.outcome()).isEqualTo(Outcome.STOPPED);
            assertThat(result.signal()).isEqualTo(15);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
    }

    @Test
    void eachChildReportsItsCpuTimeAndPeakMemory() {
        ChildResult busy = launcher.start(shell("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"))
                .result().join();
        ChildResult idle = launcher.start(spec("true")).result().join();

        assertThat(busy.succeeded()).as(busy.toString()).isTrue();
        assertThat(busy.usage().cpuUserMicros()).isGreaterThan(50_000);
        assertThat(busy.usage().maxRssKb()).isGreaterThan(100);
        assertThat(idle.usage().cpuUserMicros() + idle.usage().cpuSystemMicros())
                .isLessThan(busy.usage().cpuUserMicros());
    }

    @Test
    void runningChildrenHoldNoThreadEach() {
        int threadsBefore = ManagementFactory.getThreadMXBean().getThreadCount();
        String seconds = uniqueSleepSeconds();
        List<RunningChild> children = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            children.add(launcher.start(spec("sleep", seconds)));
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> LiveProcesses.running("sleep", seconds).size() == 200);

        int threadsDuring = ManagementFactory.getThreadMXBean().getThreadCount();
        children.forEach(child -> child.stop("test over"));
        children.forEach(child -> child.result().join());

        assertThat(threadsDuring - threadsBefore).as("threads for 200 children").isLessThan(5);
        assertThat(launcher.runningCount()).isZero();
    }

    @Test
    void killedHelperLosesItsChildrenKillsTheirGroupsAndIsReplaced() throws Exception {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(shell("sleep \"$1\" & wait", seconds));
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).size() == 1);
        long grandchild = LiveProcesses.running("sleep", seconds).get(0);
        long helper = launcher.helperPid().orElseThrow();

        ProcessHandle.of(helper).orElseThrow().destroyForcibly();

        ChildResult result = child.result().get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(result.outcome()).isEqualTo(Outcome.LOST);
        assertThat(result.error()).startsWith("the spawn helper died (killed by signal 9)");
        assertThat(LiveProcesses.isLive(grandchild)).as("the lost child's grandchild").isFalse();
        await().atMost(Duration.ofSeconds(10)).until(() -> launcher.helperPid().isPresent());
        assertThat(launcher.helperPid().getAsLong()).isNotEqualTo(helper);
        assertThat(launcher.start(shell("echo again")).result().join().outputTail()).isEqualTo("again\n");
    }

    @Test
    void launcherWhoseHelperCannotRestartIsNotReadyUntilItCan() throws Exception {
        java.nio.file.Path executable = launcher.executable();
        byte[] helperBytes = java.nio.file.Files.readAllBytes(executable);
        long helper = launcher.helperPid().orElseThrow();
        java.nio.file.Files.delete(executable);

        ProcessHandle.of(helper).orElseThrow().destroyForcibly();

        await().atMost(Duration.ofSeconds(10)).until(() -> !launcher.ready());
        assertThat(launcher.start(spec("true")).result().join().outcome()).isEqualTo(Outcome.LOST);
        java.nio.file.Files.write(executable, helperBytes);
        java.nio.file.Files.setPosixFilePermissions(executable,
                java.nio.file.attribute.PosixFilePermissions.fromString("r-x------"));
        await().atMost(Duration.ofSeconds(10)).until(launcher::ready);
        assertThat(launcher.start(spec("true")).result().join().succeeded()).isTrue();
    }

    @Test
    void closeEndsAGroupThatIgnoresSigtermAfterTheGrace() throws Exception {
        String seconds = uniqueSleepSeconds();
        launcher.start(shell("(trap '' TERM HUP; sleep \"$1\") & wait", seconds));
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).size() == 1);

        launcher.close();

        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
    }
}
