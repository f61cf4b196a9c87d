package dev.procq.pool;

import static dev.procq.pool.Specs.shell;
import static dev.procq.testing.LiveProcesses.uniqueSleepSeconds;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.procq.testing.LiveProcesses;
import dev.procq.testing.WritableCgroups;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each child in a cgroup of its own, with real children in a real cgroup v2 subtree: a stop or a
 * timeout ends even a grandchild that left the process group with setsid, the CPU of a grandchild
 * nobody waited for is counted, and the cgroup is gone when the job is. Runs where this host offers
 * a writable cgroup v2 hierarchy; only the spawn helper places children in cgroups.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Backends.class)
class CgroupTest {
    private static final Duration GONE_WITHIN = Duration.ofSeconds(15);

    private final Backends backend;
    private Path root;
    private CgroupTree tree;
    private ChildLauncher launcher;

    CgroupTest(Backends backend) {
        this.backend = backend;
    }

    private ChildLauncher launcher() throws CgroupTree.Unavailable {
        String missing = WritableCgroups.unavailable();
        assumeTrue(missing == null, missing);
        assumeTrue(backend == Backends.NATIVE, "cgroups need the spawn helper: ProcessBuilder cannot place a child"
                + " in a cgroup before it runs, and the worker says so and runs it in a process group");
        root = WritableCgroups.fresh();
        tree = CgroupTree.open(root.toString());
        launcher = ChildLauncher.open(ChildLauncher.Backend.NATIVE, tree);
        return launcher;
    }

    @AfterEach
    void cleanUp() {
        if (launcher != null) launcher.close();
        if (root != null) WritableCgroups.remove(root);
    }

    private static JobCgroup cgroup(String name) {
        return new JobCgroup(name, null, null, null);
    }

    /** A child that starts a grandchild in a session of its own (out of the process group), then sleeps. */
    private static ChildSpec escaper(String grandchildSeconds) {
        return shell("setsid sleep \"$1\" >/dev/null 2>&1 & exec sleep 600", grandchildSeconds);
    }

    @Test
    void stopEndsAGrandchildThatCalledSetsid() throws Exception {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher().start(escaper(seconds).inCgroup(cgroup("job-1-1")));
        await().atMost(GONE_WITHIN).until(() -> !LiveProcesses.running("sleep", seconds).isEmpty());
        assertThat(WritableCgroups.children(root)).contains("job-1-1");

        ChildResult result = child.stop("cancelled").get();

        assertThat(result.outcome()).isEqualTo(ChildResult.Outcome.STOPPED);
        await().atMost(GONE_WITHIN).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
        assertThat(WritableCgroups.children(root)).doesNotContain("job-1-1");
    }

    @Test
    void timeoutEndsAGrandchildThatCalledSetsid() throws Exception {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher().start(escaper(seconds).withTimeout(Duration.ofSeconds(1))
                .inCgroup(cgroup("job-2-1")));

        ChildResult result = child.result().get();

        assertThat(result.outcome()).isEqualTo(ChildResult.Outcome.TIMED_OUT);
        await().atMost(GONE_WITHIN).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
        assertThat(WritableCgroups.children(root)).doesNotContain("job-2-1");
    }

    @Test
    void whatAChildLeftBehindEndsWithItAndTheCgroupIsRemoved() throws Exception {
        String seconds = uniqueSleepSeconds();
        RunningChild child = launcher().start(shell("setsid sleep \"$1\" >/dev/null 2>&1 & sleep 0.3", seconds)
                .inCgroup(cgroup("job-3-1")));

        ChildResult result = child.result().get();

        assertThat(result.succeeded()).isTrue();
        // Reported only once the cgroup is empty and removed: no waiting needed.
        assertThat(LiveProcesses.running("sleep", seconds)).isEmpty();
        assertThat(WritableCgroups.children(root)).isEmpty();
    }

    @Test
    void cpuOfAGrandchildNobodyWaitedForIsCounted() throws Exception {
        Path done = Files.createTempFile("procq-cgroup-cpu", ".done");
        Files.delete(done);
        try {
            // The subshell burns a second of CPU in perl and is never waited for by the child, so
            // wait4's rusage of the child leaves it out; the cgroup's cpu.stat does not.
            RunningChild child = launcher().start(shell("(setsid perl -e '1 while (times)[0] < 1'; touch \"$1\")"
                    + " >/dev/null 2>&1 & while [ ! -e \"$1\" ]; do sleep 0.05; done", done.toString())
                    .inCgroup(cgroup("job-4-1")));

            ChildResult result = child.result().get();

            assertThat(result.succeeded()).isTrue();
            assertThat(result.usage().cpuUserMillis()).isGreaterThanOrEqualTo(900);
            assertThat(WritableCgroups.children(root)).isEmpty();
        } finally {
            Files.deleteIfExists(done);
        }
    }

    @Test
    void aChildWithoutACgroupRunsAsBefore() throws Exception {
        ChildResult result = launcher().start(shell("exit 3")).result().get();

        assertThat(result.exitCode()).isEqualTo(3);
        assertThat(result.usage().memoryPeakBytes()).isNull();
        assertThat(WritableCgroups.children(root)).isEmpty();
    }

    @Test
    void memoryMaxEndsAnAllocatingChildWithAnOomKill() throws Exception {
        launcher();
        assumeTrue(tree.controllers().contains("memory"), "the cgroup subtree " + root
                + " offers no memory controller (cgroup.controllers lists none), so memory.max cannot be set here");
        RunningChild child = launcher.start(shell("perl -e '$x = \"x\" x (256 * 1024 * 1024); sleep 1'")
                .inCgroup(new JobCgroup("job-5-1", 32L << 20, null, null)));

        ChildResult result = child.result().get();

        assertThat(result.succeeded()).isFalse();
        assertThat(result.usage().oomKills()).isPositive();
        assertThat(result.usage().memoryPeakBytes()).isLessThanOrEqualTo(32L << 20);
    }

    @Test
    void pidsMaxRefusesForksBeyondIt() throws Exception {
        launcher();
        assumeTrue(tree.controllers().contains("pids"), "the cgroup subtree " + root
                + " offers no pids controller (cgroup.controllers lists none), so pids.max cannot be set here");
        RunningChild child = launcher.start(shell("for i in 1 2 3 4 5 6 7 8; do sleep 1 & done; wait")
                .inCgroup(new JobCgroup("job-6-1", null, 4L, null)));

        ChildResult result = child.result().get();

        assertThat(result.outputTail()).contains("fork");
    }

    @Test
    void aMissingOrForeignRootIsRefusedWithTheReason() {
        String missing = WritableCgroups.unavailable();
        assumeTrue(missing == null, missing);
        assertThatThrownBy(() -> CgroupTree.open("/nonexistent/procq"))
                .isInstanceOf(CgroupTree.Unavailable.class).hasMessageContaining("not in a cgroup2 file system");
        assertThatThrownBy(() -> CgroupTree.open("procq"))
                .isInstanceOf(CgroupTree.Unavailable.class).hasMessageContaining("not an absolute path");
    }
}
