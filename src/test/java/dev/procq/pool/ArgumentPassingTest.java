package dev.procq.pool;

import static dev.procq.pool.Specs.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.procq.pool.ChildResult.Outcome;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class ArgumentPassingTest {

    private final Backends backend;
    private final ChildLauncher launcher;

    ArgumentPassingTest(Backends backend) {
        this.backend = backend;
        this.launcher = backend.open();
    }

    @TempDir
    Path scratch;

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void everyTargetArrivesAsExactlyOneArgumentWithNoShellInBetween() {
        Path marker = scratch.resolve("a shell ran this");
        List<String> targets = List.of(
                "$(touch '" + marker + "')",
                "`touch '" + marker + "'`",
                "a; touch '" + marker + "'",
                "x && touch '" + marker + "' || true",
                "it's \"double\" and 'single'",
                "two  spaces\tand a tab",
                "first line\nsecond line\n",
                "*",
                "-n",
                "",
                "\\0 is not a NUL");
        List<String> argv = new ArrayList<>(List.of("printf", "%s\\0"));
        argv.addAll(targets);

        ChildResult result = launcher.start(spec(argv.toArray(String[]::new))).result().join();

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        assertThat(receivedArguments(result)).containsExactlyElementsOf(targets);
        assertThat(marker).doesNotExist();
    }

    @Test
    void nonAsciiTargetArrivesAsItsUtf8Bytes() {
        assumeTrue(backend == Backends.NATIVE || Charset.defaultCharset().equals(StandardCharsets.UTF_8),
                "the JVM passes arguments in its default charset, which is not UTF-8 here");
        String target = "héllo wörld ✓ 𝄞 Ωμέγα";

        ChildResult echoed = launcher.start(spec("printf", "%s", target)).result().join();
        assertThat(echoed.outputTail().getBytes(StandardCharsets.UTF_8))
                .isEqualTo(target.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void argumentWithNulIsRefusedRatherThanCut() {
        ChildResult result = launcher.start(spec("printf", "%s", "before\0after")).result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.SPAWN_FAILED);
        assertThat(result.error()).isEqualTo("argument 2 contains a NUL character");
    }

    @Test
    void argumentTheJvmCannotEncodeIsRefusedRatherThanMangled() {
        ChildSpec spec = spec("printf", "%s", "naïve");

        assertThatThrownBy(() -> ChildCommand.prepare(spec, SystemTools.locate(),
                StandardCharsets.US_ASCII))
                .isInstanceOf(CannotSpawn.class)
                .hasMessageStartingWith("argument 2 has characters the JVM cannot pass in its charset US-ASCII");
    }

    @Test
    void programRunsWrappedInSetsidAndSetprivAndPrlimitOnlyWithLimits() throws Exception {
        SystemTools tools = SystemTools.locate();

        List<String> plain = ChildCommand.prepare(spec("true"), tools, StandardCharsets.UTF_8).command();
        List<String> limited = ChildCommand.prepare(
                spec("true").withLimits(ResourceLimits.cpuSeconds(3).withOpenFiles(64L)), tools,
                StandardCharsets.UTF_8).command();

        assertThat(plain).containsExactly(tools.setsid().toString(), "--", tools.setpriv().toString(),
                "--pdeathsig", "KILL", "--", "/usr/bin/true");
        assertThat(limited).containsExactly(tools.setsid().toString(), "--",
                tools.setpriv().toString(), "--pdeathsig", "KILL", "--", tools.prlimit().toString(),
                "--cpu=3:4", "--nofile=64", "--", "/usr/bin/true");
    }

    private static List<String> receivedArguments(ChildResult result) {
        String output = result.outputTail();
        assertThat(output).endsWith("\0");
        return Arrays.asList(output.substring(0, output.length() - 1).split("\0", -1));
    }
}
