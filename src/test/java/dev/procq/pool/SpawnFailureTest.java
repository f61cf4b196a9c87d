package dev.procq.pool;

import static dev.procq.pool.Specs.spec;
import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.pool.ChildResult.Outcome;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class SpawnFailureTest {

    private final ChildLauncher launcher;

    SpawnFailureTest(Backends backend) {
        this.launcher = backend.open();
    }

    @TempDir
    Path scratch;

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void missingProgramIsNamedInTheResult() {
        RunningChild child = launcher.start(spec("nosuchprog", "target"));

        ChildResult result = child.result().join();
        assertThat(result.outcome()).isEqualTo(Outcome.SPAWN_FAILED);
        assertThat(result.error()).isEqualTo("program not found: nosuchprog");
        assertThat(result.exitCode()).isNull();
        assertThat(result.signal()).isNull();
        assertThat(result.succeeded()).isFalse();
        assertThat(child.pid()).isEmpty();
    }

    @Test
    void missingProgramPathIsNamedInTheResult() {
        ChildResult result = launcher.start(spec("/no/such/dir/prog")).result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.SPAWN_FAILED);
        assertThat(result.error()).isEqualTo("program not found: /no/such/dir/prog");
    }

    @Test
    void fileWithoutExecutePermissionIsReported() throws IOException {
        Path script = writeScript(scratch.resolve("not-executable"), "rw-r--r--");

        ChildResult result = launcher.start(spec(script.toString())).result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.SPAWN_FAILED);
        assertThat(result.error()).isEqualTo("program not executable: " + script);
    }

    @Test
    void missingWorkingDirectoryIsReported() {
        Path missing = scratch.resolve("gone");

        ChildResult result = launcher.start(spec("true").inDirectory(missing)).result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.SPAWN_FAILED);
        assertThat(result.error()).isEqualTo("working directory not found: " + missing);
    }

    @Test
    void programIsLookedUpInTheChildsOwnPath() throws IOException {
        Path bin = Files.createDirectory(scratch.resolve("bin"));
        writeScript(bin.resolve("hello-from-bin"), "rwxr-xr-x");

        ChildResult found = launcher.start(ChildSpec.of(List.of("hello-from-bin"),
                Map.of("PATH", bin + ":/usr/bin:/bin"))).result().join();
        ChildResult notOnPath = launcher.start(spec("hello-from-bin")).result().join();

        assertThat(found.succeeded()).as(found.toString()).isTrue();
        assertThat(found.outputTail()).isEqualTo("hello\n");
        assertThat(notOnPath.error()).isEqualTo("program not found: hello-from-bin");
    }

    @Test
    void relativeProgramPathIsFoundFromTheWorkingDirectory() throws IOException {
        writeScript(scratch.resolve("hello"), "rwxr-xr-x");

        ChildResult result = launcher.start(spec("./hello").inDirectory(scratch)).result().join();

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        assertThat(result.outputTail()).isEqualTo("hello\n");
    }

    @Test
    void withoutPathInTheEnvironmentTheDefaultPathIsSearched() {
        ChildResult result = launcher.start(ChildSpec.of(List.of("true"), Map.of())).result().join();

        assertThat(result.succeeded()).as(result.toString()).isTrue();
    }

    @Test
    void closedLauncherStartsNothing() {
        launcher.close();

        ChildResult result = launcher.start(spec("true")).result().join();

        assertThat(result.outcome()).isEqualTo(Outcome.SPAWN_FAILED);
        assertThat(result.error()).isEqualTo("launcher is closed");
    }

    private static Path writeScript(Path path, String permissions) throws IOException {
        Files.writeString(path, "#!/bin/sh\necho hello\n");
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(permissions));
        return path;
    }
}
