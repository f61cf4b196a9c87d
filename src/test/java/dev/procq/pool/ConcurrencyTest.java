package dev.procq.pool;

import static dev.procq.pool.Specs.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
        // The launcher forgets a child in a callback of the same result, so it may lag a moment.
        await().atMost(Duration.ofSeconds(5)).until(() -> launcher.runningCount() == 0);
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
