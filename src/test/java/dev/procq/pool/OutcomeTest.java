package dev.procq.pool;

import static dev.procq.pool.Specs.shell;
import static dev.procq.pool.Specs.spec;
import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.pool.ChildResult.Outcome;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class OutcomeTest {

    private final ChildLauncher launcher;

    OutcomeTest(Backends backend) {
        this.launcher = backend.open();
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void exitCodeZeroSucceeds() {
        ChildResult result = launcher.start(spec("true")).result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.EXITED);
        assertThat(result.exitCode()).isZero();
        assertThat(result.signal()).isNull();
        assertThat(result.error()).isNull();
        assertThat(result.succeeded()).isTrue();
    }

    @Test
    void nonZeroExitCodeIsTheError() {
        ChildResult result = launcher.start(shell("echo failing; exit 3")).result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.EXITED);
        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(result.error()).isEqualTo("exit code 3");
        assertThat(result.outputTail()).isEqualTo("failing\n");
        assertThat(result.succeeded()).isFalse();
    }

    @Test
    void deathBySignalNobodyHereSentIsReportedWithItsName() {
        ChildResult result = launcher.start(shell("kill -SEGV $$")).result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.KILLED_BY_SIGNAL);
        assertThat(result.signal()).isEqualTo(11);
        assertThat(result.exitCode()).isNull();
        assertThat(result.error()).isEqualTo("killed by signal 11 (SEGV)");
    }

    @Test
    void childReadingStdinGetsEndOfInputAtOnce() {
        ChildResult result = launcher.start(spec("cat")).result().join();

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        assertThat(result.outputTail()).isEmpty();
    }

    @Test
    void resultCompletesOnceAndCallersCannotOverwriteIt() {
        RunningChild child = launcher.start(spec("true"));

        child.result().complete(ChildResult.exited(99, java.time.Duration.ZERO, "forged"));

        assertThat(child.result().join().exitCode()).isZero();
    }
}
