package dev.procq.pool;

import static dev.procq.pool.Specs.shell;
import static dev.procq.testing.LiveProcesses.uniqueSleepSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.pool.ChildResult.Outcome;
import dev.procq.testing.LiveProcesses;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class OutputCaptureTest {

    private static final long MEGABYTE = 1024 * 1024;

    private final ChildLauncher launcher;
    private final HeapWatch heap = new HeapWatch();

    OutputCaptureTest(Backends backend) {
        this.launcher = backend.open();
    }

    @AfterEach
    void closeLauncher() {
        heap.close();
        launcher.close();
    }

    @Test
    void stdoutAndStderrArriveMergedInOneStream() {
        ChildResult result = launcher.start(shell("echo out; echo err >&2; echo out again"))
                .result().join();

        assertThat(result.outputTail()).isEqualTo("out\nerr\nout again\n");
    }

    @Test
    @Timeout(60)
    void aGigabyteOfOutputKeepsOnlyItsLastBytesInBoundedMemory() {
        int tailBytes = 1000;
        heap.start();

        ChildResult result = launcher.start(
                shell("head -c 1000000000 /dev/zero | tr '\\0' x; printf THE-END")
                        .withTailBytes(tailBytes))
                .result().join();

        assertThat(result.succeeded()).as(result.error()).isTrue();
        assertThat(result.outputTail()).isEqualTo("x".repeat(tailBytes - 7) + "THE-END");
        assertThat(heap.peakGrowth()).isLessThan(256 * MEGABYTE);
        assertThat(heap.retainedGrowth()).isLessThan(32 * MEGABYTE);
    }

    @Test
    void grandchildHoldingTheOutputOpenDoesNotHoldUpTheResult() {
        String seconds = uniqueSleepSeconds();

        ChildResult result = launcher.start(shell(
                "sleep \"$1\" & echo done; " + Specs.LIVE_A_MOMENT, seconds))
                .result().orTimeout(10, TimeUnit.SECONDS).join();

        assertThat(result.succeeded()).isTrue();
        assertThat(result.outputTail()).isEqualTo("done\n");
        assertThat(result.duration()).isLessThan(Duration.ofSeconds(5));
        TerminationTest.awaitSleepGone(seconds);
    }

    @Test
    void grandchildStillWritingAfterTheChildExitedCannotExhaustMemory() {
        String token = UUID.randomUUID().toString();
        heap.start();

        ChildResult result = launcher.start(
                shell("yes \"$1\" & " + Specs.LIVE_A_MOMENT, token).withTailBytes(100))
                .result().orTimeout(10, TimeUnit.SECONDS).join();

        assertThat(result.outcome()).isEqualTo(Outcome.EXITED);
        assertThat(result.outputTail()).contains(token + "\n");
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("yes", token).isEmpty());
                assertThat(heap.peakGrowth()).isLessThan(256 * MEGABYTE);
    }

    /** Samples the heap while a test runs: output that piled up anywhere would show. */
    private static final class HeapWatch implements AutoCloseable {

        private final Runtime runtime = Runtime.getRuntime();
        private final ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        private final AtomicLong peak = new AtomicLong();
        private long baseline;

        void start() {
            baseline = usedAfterGc();
            sampler.scheduleAtFixedRate(
                    () -> peak.accumulateAndGet(used(), Math::max), 0, 10, TimeUnit.MILLISECONDS);
        }

        long peakGrowth() {
            return Math.max(peak.get(), used()) - baseline;
        }

        long retainedGrowth() {
            return usedAfterGc() - baseline;
        }

        @Override
        public void close() {
            sampler.shutdownNow();
        }

        private long used() {
            return runtime.totalMemory() - runtime.freeMemory();
        }

        private long usedAfterGc() {
            System.gc();
            return used();
        }
    }
}
