package dev.procq.pool;

import static dev.procq.testing.LiveProcesses.uniqueSleepSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.procq.testing.LiveProcesses;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** A real worker JVM, killed with SIGKILL, and what it leaves behind. */
@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class CrashedWorkerTest {

    private static final String TAG = "PROCQ_WORKER_ID";

    private final Backends backend;
    private final ChildLauncher launcher;
    private Process worker;

    CrashedWorkerTest(Backends backend) {
        this.backend = backend;
        this.launcher = backend.open();
    }

    @AfterEach
    void cleanUp() {
        if (worker != null) {
            worker.destroyForcibly();
        }
        launcher.close();
    }

    @Test
    void directChildDiesWithTheWorkerJvm() throws IOException {
        String seconds = uniqueSleepSeconds();
        long childPid = startWorker(List.of(), "sleep", seconds);
        TerminationTest.awaitSleepRunning(seconds);
        assertThat(LiveProcesses.running("sleep", seconds)).containsExactly(childPid);

        worker.destroyForcibly();

        await().atMost(Duration.ofSeconds(10)).until(() -> !LiveProcesses.isLive(childPid));
    }

    @Test
    void killTaggedEndsTheOrphanedGroupsOfACrashedWorkerOnly() throws IOException {
        String deadWorker = UUID.randomUUID().toString();
        String liveWorker = UUID.randomUUID().toString();
        String orphanSeconds = uniqueSleepSeconds();
        String bystanderSeconds = uniqueSleepSeconds();
        long shellPid = startWorker(List.of(TAG + "=" + deadWorker),
                "sh", "-c", "sleep \"$1\" & wait", "sh", orphanSeconds);
        RunningChild bystander = launcher.start(ChildSpec.of(List.of("sleep", bystanderSeconds),
                Map.of(TAG, liveWorker)));
        TerminationTest.awaitSleepRunning(orphanSeconds);
        TerminationTest.awaitSleepRunning(bystanderSeconds);

        if (backend == Backends.NATIVE) {
            // The helper ends every group when its worker dies; only a helper that dies with the
            // worker (both SIGKILLed, the OOM killer) leaves orphans. Frozen first, it cannot react.
            long helper = LiveProcesses.childNamed(worker.pid(), HelperBinary.NAME).orElseThrow();
            LiveProcesses.signal(helper, "STOP");
            worker.destroyForcibly();
            LiveProcesses.signal(helper, "KILL");
        } else {
            worker.destroyForcibly();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !LiveProcesses.isLive(shellPid));
        long orphan = LiveProcesses.running("sleep", orphanSeconds).get(0);
        assertThat(ProcessGroups.stat(orphan).orElseThrow().group())
                .as("the orphan is still in the dead child's process group")
                .isEqualTo(shellPid);

        int killed = ProcessGroups.killTagged(TAG, Set.of(deadWorker, "some-other-dead-worker"));

        assertThat(killed).isEqualTo(1);
        TerminationTest.awaitSleepGone(orphanSeconds);
        assertThat(LiveProcesses.running("sleep", bystanderSeconds)).hasSize(1);
        assertThat(bystander.result()).isNotDone();
        assertThat(ProcessGroups.killTagged(TAG, Set.of(deadWorker))).isZero();
    }

    @Test
    void helperEndsEveryGroupOfADeadWorkerJvm() throws IOException {
        assumeTrue(backend == Backends.NATIVE,
                "through ProcessBuilder, a grandchild outlives its worker until killTagged ends it");
        String seconds = uniqueSleepSeconds();
        startWorker(List.of(), "sh", "-c", "sleep \"$1\" & wait", "sh", seconds);
        TerminationTest.awaitSleepRunning(seconds);

        worker.destroyForcibly();

        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
    }

    /** Starts a stand-in worker JVM running one child and returns the child's pid. */
    private long startWorker(List<String> environment, String... argv) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-Dprocq.spawner=" + backend.name(),
                "-cp", classPath(),
                StandInWorker.class.getName()));
        command.addAll(environment);
        command.add("--");
        command.addAll(List.of(argv));
        worker = new ProcessBuilder(command)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        BufferedReader output = new BufferedReader(
                new InputStreamReader(worker.getInputStream(), StandardCharsets.UTF_8));
        String pidLine = output.readLine();
        assertThat(pidLine).as("pid printed by the stand-in worker").isNotNull();
        return Long.parseLong(pidLine.trim());
    }

    private static String classPath() {
        return String.join(File.pathSeparator, codeSource(ChildLauncher.class),
                codeSource(StandInWorker.class), codeSource(LoggerFactory.class));
    }

    private static String codeSource(Class<?> type) {
        try {
            return Path.of(type.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
