package dev.procq.pool;

import static dev.procq.pool.Specs.shell;
import static dev.procq.pool.Specs.spec;
import static dev.procq.testing.LiveProcesses.uniqueSleepSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.procq.testing.LiveProcesses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** A child wrapped in bubblewrap behaves like any other on both backends: results, output, stop. */
@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class SandboxedChildTest {
    private static final Bubblewrap BWRAP = new Bubblewrap(Bubblewrap.DEFAULT_PATH);
    private static final Bubblewrap.Policy CLOSED = new Bubblewrap.Policy(false, List.of());

    private final ChildLauncher launcher;

    SandboxedChildTest(Backends backend) {
        this.launcher = backend.open();
    }

    @BeforeAll
    static void needsBubblewrap() {
        assumeTrue(Files.isExecutable(Bubblewrap.DEFAULT_PATH),
                "bubblewrap is not installed (" + Bubblewrap.DEFAULT_PATH + "; apt-get install bubblewrap, as .ci/run does)");
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void theCommandIsBwrapItsOptionsAndTheResolvedProgram() {
        Path out = Path.of("/srv/thumbs");
        ChildSpec wrapped = BWRAP.wrap(spec("true", "a b").inDirectory(Path.of("/usr")),
                new Bubblewrap.Policy(false, List.of(out)));
        List<String> argv = wrapped.argv();
        assertThat(argv.get(0)).isEqualTo("/usr/bin/bwrap");
        assertThat(argv).contains("--die-with-parent", "--unshare-pid", "--unshare-net")
                .doesNotContain("--new-session", "--share-net");
        assertThat(String.join(" ", argv)).contains("--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs /run",
                "--bind /srv/thumbs /srv/thumbs", "--chdir /usr", "--cap-drop ALL -- /usr/bin/true a b");
        assertThat(argv.get(argv.size() - 1)).isEqualTo("a b");
        assertThat(BWRAP.wrap(spec("true"), new Bubblewrap.Policy(true, List.of())).argv())
                .doesNotContain("--unshare-net");
    }

    @Test
    void aProgramThatCannotBeFoundFailsRatherThanRunningUnsandboxed() {
        assertThatThrownBy(() -> BWRAP.wrap(spec("no-such-program-procq"), CLOSED))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("program not found: no-such-program-procq");
    }

    @Test
    void exitCodeAndOutputComeThroughTheSandbox() {
        ChildResult result = launcher.start(BWRAP.wrap(shell("echo inside; echo $$; exit 7"), CLOSED)).result().join();
        assertThat(result.outcome()).isEqualTo(ChildResult.Outcome.EXITED);
        assertThat(result.exitCode()).isEqualTo(7);
        // Its own PID namespace: bwrap's init is 1, the program 2.
        assertThat(result.outputTail()).isEqualTo("inside\n2\n");
    }

    @Test
    void stoppingASandboxedChildEndsBwrapAndEverythingInside() {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher.start(BWRAP.wrap(shell("sleep $1 & sleep $1 & wait", seconds), CLOSED));
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).size() == 2);
        assertThat(LiveProcesses.withArgument(seconds)).hasSizeGreaterThanOrEqualTo(5); // bwrap x2, sh, sleep x2
        ChildResult result = child.stop("cancelled").join();
        assertThat(result.outcome()).isEqualTo(ChildResult.Outcome.STOPPED);
        await().atMost(Duration.ofSeconds(5)).until(() -> LiveProcesses.withArgument(seconds).isEmpty());
    }

    @Test
    void theProbeNamesAMissingBwrap() {
        assertThatThrownBy(() -> new Bubblewrap(Path.of("/nonexistent/bwrap")).probe(CLOSED))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("/nonexistent/bwrap not found or not executable")
                .hasMessageContaining("apt-get install bubblewrap");
        BWRAP.probe(CLOSED);
    }
}
