package dev.procq.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A child of a type with {@code user:} runs as that user and group with no supplementary groups,
 * can use its working directory and its output, and is still stopped with its whole group. Needs
 * a worker that may switch users (root here); says so and is skipped otherwise.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class OtherUserTest {

    private static final Map<String, String> PATH = Map.of("PATH", "/usr/bin:/bin");

    private final Backends backend;
    private final ChildLauncher launcher;
    private RunAs nobody;

    OtherUserTest(Backends backend) {
        this.backend = backend;
        this.launcher = backend.open();
    }

    @BeforeEach
    void needsAWorkerThatMaySwitchUsers() {
        assumeTrue(RunAs.whyUsersCannotChange().isEmpty(),
                () -> "children cannot change user here: " + RunAs.whyUsersCannotChange().orElse(""));
        nobody = RunAs.lookUp("nobody", null);
    }

    @AfterEach
    void closeLauncher() {
        launcher.close();
    }

    @Test
    void childRunsAsTheTypesUserAndGroupWithoutSupplementaryGroups() {
        ChildResult result = run(ChildSpec.of(List.of("sh", "-c",
                "grep -E '^(Uid|Gid|Groups):' /proc/self/status"), PATH).asUser(nobody));

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        String id = Integer.toString(nobody.uid());
        String gid = Integer.toString(nobody.gid());
        assertThat(result.outputTail().lines().map(line -> line.replaceAll("\\s+", " ").trim()).toList())
                .containsExactly("Uid: " + id + " " + id + " " + id + " " + id,
                        "Gid: " + gid + " " + gid + " " + gid + " " + gid,
                        "Groups:");
    }

    @Test
    void aNamedGroupReplacesThePrimaryOne() {
        RunAs withGroup = RunAs.lookUp("nobody", "daemon");
        ChildResult result = run(ChildSpec.of(List.of("id", "-g"), PATH).asUser(withGroup));

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        assertThat(result.outputTail().trim()).isEqualTo(Integer.toString(withGroup.gid()));
    }

    @Test
    void workingDirectoryAndOutputWorkForTheOtherUser(@TempDir Path temp) throws IOException {
        Path home = Files.createDirectory(temp.resolve("home"));
        UserPrincipalLookupService names = home.getFileSystem().getUserPrincipalLookupService();
        Files.setOwner(home, names.lookupPrincipalByName("nobody"));
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwx------"));
        Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rwx--x--x"));

        ChildResult result = run(ChildSpec.of(List.of("sh", "-c",
                "echo made > here && cat here && pwd && echo to-stderr >&2"), PATH)
                .inDirectory(home).asUser(nobody));

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        assertThat(result.outputTail()).isEqualTo("made\n" + home + "\nto-stderr\n");
        assertThat(Files.getOwner(home.resolve("here")).getName()).isEqualTo("nobody");
    }

    @Test
    void aProgramMayReopenItsOutputByPath() {
        // Through ProcessBuilder the pipe is the JVM's, mode 0600: see docs/security.md.
        assumeTrue(backend == Backends.NATIVE, "only the spawn helper hands the output pipe to the child's user");
        ChildResult result = run(ChildSpec.of(List.of("sh", "-c",
                "echo by-path > /dev/stdout && echo err-by-path > /dev/stderr"), PATH).asUser(nobody));

        assertThat(result.succeeded()).as(result.toString()).isTrue();
        assertThat(result.outputTail()).isEqualTo("by-path\nerr-by-path\n");
    }

    @Test
    void aTimeoutStillEndsTheOtherUsersWholeGroup() {
        long started = System.nanoTime();
        ChildResult result = run(ChildSpec.of(List.of("sh", "-c", "trap '' TERM; sleep 30 & sleep 30; wait"), PATH)
                .asUser(nobody).withTimeout(Duration.ofMillis(500)).withKillGrace(Duration.ofMillis(300)));

        assertThat(result.outcome()).as(result.toString()).isEqualTo(ChildResult.Outcome.TIMED_OUT);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(10));
    }

    private ChildResult run(ChildSpec spec) {
        return launcher.start(spec).result().join();
    }
}
