package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.security.CapturedLogs;
import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WritableCgroups;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker with a cgroup subtree (PROCQ_CGROUP_ROOT) runs each job in a cgroup of its own: a cancel
 * ends a grandchild that left the process group with setsid, the attempt records the CPU of the
 * whole tree, and no cgroup is left once the jobs are done. Without a writable subtree the worker
 * says so in one line and runs jobs in process groups, as before.
 */
class CgroupJobsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              escape:
                command: ["sh", "-c", "setsid sleep \\"$1\\" >/dev/null 2>&1 & exec sleep 600", "escape", "{target}"]
              burn:
                # A subshell burns a second of CPU and is never waited for: wait4 would not count it.
                command: ["sh", "-c", "(setsid perl -e '1 while (times)[0] < 1'; touch \\"$1\\") >/dev/null 2>&1 &
                          while [ ! -e \\"$1\\" ]; do sleep 0.05; done", "burn", "{target}"]
              capped:
                command: ["true", "{target}"]
                cgroup: {memoryMax: 256M, pidsMax: 64, cpuMax: 50%}
            """;

    @TempDir
    Path dir;

    private Procq procq;
    private Path root;

    @AfterEach
    void stop() throws Exception {
        if (procq != null) procq.close();
        if (root != null) WritableCgroups.remove(root);
    }

    private Procq withCgroupRoot(String cgroupRoot) throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_METRICS_PORT", "off", "PROCQ_SPAWNER", "native",
                "PROCQ_CGROUP_ROOT", cgroupRoot, "PROCQ_KILL_GRACE", "500ms")).startApi();
        procq.startWorker();
        return procq;
    }

    private Procq withFreshCgroupRoot() throws Exception {
        String missing = WritableCgroups.unavailable();
        assumeTrue(missing == null, missing);
        root = WritableCgroups.fresh();
        return withCgroupRoot(root.toString());
    }

    private static long onlyJob(Jdbi jdbi, long batch) {
        return jdbi.withHandle(h -> h.createQuery("SELECT id FROM procq.job WHERE batch_id = :b")
                .bind("b", batch).mapTo(Long.class).one());
    }

    private static String state(Jdbi jdbi, long job) {
        return jdbi.withHandle(h -> h.createQuery("SELECT state FROM procq.job WHERE id = :j")
                .bind("j", job).mapTo(String.class).one());
    }

    @Test
    void aCancelEndsAGrandchildThatCalledSetsid() throws Exception {
        Procq procq = withFreshCgroupRoot();
        Jdbi jdbi = procq.database().jdbi();
        String seconds = LiveProcesses.uniqueSleepSeconds();
        long batch = procq.submit("escape", List.of(seconds));
        long job = onlyJob(jdbi, batch);
        await().atMost(Duration.ofSeconds(30)).until(() -> !LiveProcesses.running("sleep", seconds).isEmpty());
        assertThat(WritableCgroups.children(root)).contains("job-" + job + "-1");

        assertThat(procq.postJson("/api/v1/batches/" + batch + "/cancel", "").status()).isLessThan(300);

        await().atMost(Duration.ofSeconds(30)).until(() -> state(jdbi, job).equals("CANCELLED"));
        await().atMost(Duration.ofSeconds(15)).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
        assertThat(WritableCgroups.children(root)).isEmpty();
    }

    @Test
    void theAttemptRecordsTheCpuOfTheWholeTreeFromCpuStat() throws Exception {
        Procq procq = withFreshCgroupRoot();
        Jdbi jdbi = procq.database().jdbi();
        Path done = dir.resolve("burnt");
        long job = onlyJob(jdbi, procq.submit("burn", List.of(done.toString())));

        await().atMost(Duration.ofSeconds(60)).until(() -> state(jdbi, job).equals("OK"));

        Map<String, Object> attempt = jdbi.withHandle(h -> h.createQuery("""
                SELECT outcome, cpu_user_ms, memory_peak_bytes FROM procq.job_attempt WHERE job_id = :j""")
                .bind("j", job).mapToMap().one());
        assertThat((Long) attempt.get("cpu_user_ms")).isGreaterThanOrEqualTo(900L);
        boolean memoryController = Files.exists(root.resolve("cgroup.subtree_control"))
                && Files.readString(root.resolve("cgroup.subtree_control")).contains("memory");
        assertThat(attempt.get("memory_peak_bytes") != null).isEqualTo(memoryController);
        JsonNode shown = procq.get("/api/v1/jobs/" + job).json().get("attempts").get(0);
        assertThat(shown.get("cpuUserMs").asLong()).isGreaterThanOrEqualTo(900L);
        assertThat(shown.has("memoryPeakBytes")).isTrue();
        assertThat(WritableCgroups.children(root)).isEmpty();
    }

    @Test
    void withoutAWritableSubtreeTheWorkerSaysSoOnceAndRunsJobsInProcessGroups() throws Exception {
        try (CapturedLogs logs = new CapturedLogs(Level.INFO, "dev.procq.worker")) {
            Procq procq = withCgroupRoot("/nonexistent/procq");
            Jdbi jdbi = procq.database().jdbi();
            long job = onlyJob(jdbi, procq.submit("capped", List.of("x")));

            await().atMost(Duration.ofSeconds(30)).until(() -> state(jdbi, job).equals("OK"));

            assertThat(logs.lines()).filteredOn(line -> line.contains("no writable cgroup v2 subtree"))
                    .singleElement().asString().contains("/nonexistent/procq is not in a cgroup2 file system")
                    .contains("process groups with rlimits");
            assertThat(logs.lines()).filteredOn(line -> line.contains("job type capped"))
                    .singleElement().asString().contains("memoryMax (memory), pidsMax (pids), cpuMax (cpu) not enforced");
        }
    }
}
