package dev.procq.pool;

import static dev.procq.pool.Specs.shell;
import static dev.procq.pool.Specs.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.pool.ChildResult.Outcome;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class ResourceLimitsTest {

    private final ChildLauncher launcher;

    ResourceLimitsTest(Backends backend) {
        this.launcher = backend.open();
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    @Timeout(30)
    void childOverItsCpuLimitEndsWithCpuTimeLimitExceeded() {
        ChildResult result = launcher.start(shell("while :; do :; done")
                .withLimits(ResourceLimits.cpuSeconds(1))
                .withTimeout(Duration.ofSeconds(20)))
                .result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.KILLED_BY_SIGNAL);
        assertThat(result.signal()).isEqualTo(24);
        assertThat(result.error()).isEqualTo("CPU time limit exceeded");
    }

    @Test
    void allocationBeyondTheMemoryLimitFails() {
        ChildResult result = launcher.start(spec("python3", "-c", "x = bytearray(500 * 1024 * 1024)")
                .withLimits(ResourceLimits.memoryBytes(100L * 1024 * 1024)))
                .result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.EXITED);
        assertThat(result.exitCode()).isNotZero();
        assertThat(result.outputTail()).contains("MemoryError");
    }

    @Test
    void sameAllocationSucceedsWithoutTheLimit() {
        ChildResult result = launcher.start(spec("python3", "-c", "x = bytearray(500 * 1024 * 1024)"))
                .result().join();

        assertThat(result.succeeded()).as(result.toString()).isTrue();
    }

    @Test
    void openFilesAndProcessLimitsReachTheChild() {
        ChildResult result = launcher.start(spec("cat", "/proc/self/limits")
                .withLimits(ResourceLimits.NONE.withOpenFiles(64L).withProcesses(50L)))
                .result().join();

        assertThat(result.outputTail())
                .containsPattern("Max processes +50 +50 ")
                .containsPattern("Max open files +64 +64 ");
    }

    @Test
    void limitsMustBePositive() {
        assertThatThrownBy(() -> ResourceLimits.cpuSeconds(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("cpuSeconds must be positive when set, was 0");
    }
}
