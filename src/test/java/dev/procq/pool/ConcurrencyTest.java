package dev.procq.pool;

import static dev.procq.pool.Specs.spec;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class ConcurrencyTest {

    private final ChildLauncher launcher;

    ConcurrencyTest(Backends backend) {
        this.launcher = backend.open();
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    @Timeout(30)
    void fiveHundredOneSecondChildrenRunAtOnce() {
        // A worker runs for days; measure it warm, not the JIT compiling the spawn path.
        runAll(100, "true");

        Duration took = runAll(500, "sleep", "1");

        // Run one after another they would take 500 s; a loose bound proves they overlap
        // without turning a loaded CI machine into a failure.
        assertThat(took).isLessThan(Duration.ofSeconds(20));
        assertThat(launcher.runningCount()).isZero();
    }

    @Test
    @Timeout(30)
    void aChildIsNoLongerCountedOnceItsResultIsSeen() {
        // A worker frees a slot when it sees a result and fills it at once; a count that lagged
        // the result would hold the slot back. Quick children make that race likely if it exists.
        for (int round = 0; round < 200; round++) {
            RunningChild child = launcher.start(spec("true"));
            assertThat(child.result().join().succeeded()).isTrue();
            assertThat(launcher.runningCount()).as("running after round %d", round).isZero();
        }
    }

    private Duration runAll(int count, String... argv) {
        long startedNanos = System.nanoTime();
        List<CompletableFuture<ChildResult>> results = new ArrayList<>();
        for (int index = 0; index < count; index++) {
            results.add(launcher.start(spec(argv)).result());
        }
        CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).join();
        Duration took = Duration.ofNanos(System.nanoTime() - startedNanos);
        assertThat(results).allSatisfy(result -> assertThat(result.join().succeeded()).isTrue());
        return took;
    }
}
