package dev.procq.pool;

import static dev.procq.pool.Specs.spec;
import static dev.procq.testing.LiveProcesses.uniqueSleepSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.pool.ProcessGroups.ProcStat;
import dev.procq.testing.LiveProcesses;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class ProcessGroupTest {

    private final ChildLauncher launcher;

    ProcessGroupTest(Backends backend) {
        this.launcher = backend.open();
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void childLeadsItsOwnSessionAndProcessGroupUnderItsOwnPid() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(spec("sleep", seconds));
        long pid = child.pid().orElseThrow();
        TerminationTest.awaitSleepRunning(seconds);

        ProcStat stat = ProcessGroups.stat(pid).orElseThrow();
        ProcStat worker = ProcessGroups.stat(ProcessHandle.current().pid()).orElseThrow();

        assertThat(LiveProcesses.running("sleep", seconds)).containsExactly(pid);
        assertThat(stat.group()).isEqualTo(pid);
        assertThat(stat.session()).isEqualTo(pid);
        assertThat(stat.session()).isNotEqualTo(worker.session());
    }

    @Test
    void childOutlivesTheThreadThatStartedIt() throws InterruptedException {
        String seconds = uniqueSleepSeconds();
        AtomicReference<RunningChild> started = new AtomicReference<>();
        Thread shortLived = new Thread(() -> started.set(launcher.start(spec("sleep", seconds))));
        shortLived.start();
        shortLived.join();
        long pid = started.get().pid().orElseThrow();

        // Had the short-lived thread forked the child, its exit would have sent the child SIGKILL.
        await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                .until(() -> LiveProcesses.isLive(pid));
        assertThat(started.get().result()).isNotDone();
    }
}
