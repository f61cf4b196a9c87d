package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** SIGTERM to a worker JVM: it stops claiming, lets children finish within the grace, hands back the rest, exits 0. */
class GracefulShutdownTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              nap:
                command: ["sh", "-c", "sleep \\"$1\\" & wait", "nap", "{target}"]
                concurrency: 3
            """;

    @TempDir
    static Path dir;

    static Path jobTypes;
    static Procq procq;
    static Jdbi jdbi;

    final List<WorkerProcess> workers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, TYPES);
        procq = new Procq(postgres, TYPES, Map.of()).startApi();
        jdbi = postgres.database().jdbi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @AfterEach
    void stopWorkers() {
        workers.forEach(WorkerProcess::close);
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET state = 'CANCELLED', finished_at = now(), lease_expires_at = NULL"
                + " WHERE state IN ('PENDING', 'RUNNING')"));
    }

    WorkerProcess worker(String grace) {
        Map<String, String> env = new HashMap<>(WorkerProcess.environment(postgres, jobTypes, 3, "5s"));
        env.put("PROCQ_SHUTDOWN_GRACE", grace);
        WorkerProcess worker = WorkerProcess.start("graceful", env);
        workers.add(worker);
        worker.awaitRegistered(jdbi);
        return worker;
    }

    @Test
    void sigtermHandsRunningJobsBackUncountedAndExitsZero() {
        String seconds = LiveProcesses.uniqueSleepSeconds();
        long batch = procq.submit("nap", List.of(seconds, seconds, seconds, seconds, seconds));
        WorkerProcess worker = worker("1s");
        await().atMost(Duration.ofSeconds(20)).until(() -> LiveProcesses.running("sleep", seconds).size() == 3);

        long signalled = System.nanoTime();
        worker.signal("TERM");
        assertThat(worker.awaitExit(Duration.ofSeconds(20))).as(worker.logTail()).isZero();
        System.out.printf("recovery: SIGTERM with grace 1s: worker exited 0 after %.1fs%n", (System.nanoTime() - signalled) / 1e9);

        assertThat(LiveProcesses.running("sleep", seconds)).isEmpty();
        List<Map<String, Object>> jobs = jdbi.withHandle(h -> h.createQuery(
                "SELECT state, attempts, max_attempts FROM procq.job WHERE batch_id = :b").bind("b", batch).mapToMap().list());
        assertThat(jobs).extracting(row -> row.get("state")).containsOnly("PENDING");
        // The three that ran: one attempt made, one more allowed, so the hand-back cost them nothing.
        assertThat(jobs).filteredOn(row -> (Integer) row.get("attempts") == 1)
                .hasSize(3).allSatisfy(row -> assertThat(row.get("max_attempts")).isEqualTo(2));
        assertThat(jobs).filteredOn(row -> (Integer) row.get("attempts") == 0).hasSize(2);
        List<String> outcomes = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.outcome || ': ' || a.error FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                 WHERE j.batch_id = :b""").bind("b", batch).mapTo(String.class).list());
        assertThat(outcomes).hasSize(3).containsOnly("STOPPED: worker shut down; handed back");
        boolean stoppedCleanly = jdbi.withHandle(h -> h.createQuery(
                "SELECT stopped_at IS NOT NULL FROM procq.worker WHERE pid = :p")
                .bind("p", worker.pid()).mapTo(Boolean.class).one());
        assertThat(stoppedCleanly).isTrue();
    }

    @Test
    void childrenThatFinishWithinTheGraceEndOkAndNothingNewIsClaimed() {
        String seconds = "2." + java.util.concurrent.ThreadLocalRandom.current().nextInt(100_000, 1_000_000);
        long batch = procq.submit("nap", List.of(seconds, seconds, seconds, seconds, seconds, seconds));
        WorkerProcess worker = worker("30s");
        // Three children really running (a claim alone is handed back unstarted if SIGTERM comes first).
        await().atMost(Duration.ofSeconds(20)).until(() -> LiveProcesses.running("sleep", seconds).size() == 3);

        worker.signal("TERM");
        assertThat(worker.awaitExit(Duration.ofSeconds(20))).as(worker.logTail()).isZero();

        Map<String, Object> counts = jdbi.withHandle(h -> h.createQuery("""
                SELECT count(*) FILTER (WHERE state = 'OK') AS ok, count(*) FILTER (WHERE state = 'PENDING') AS pending,
                       count(*) FILTER (WHERE state = 'RUNNING') AS running
                  FROM procq.job WHERE batch_id = :b""").bind("b", batch).mapToMap().one());
        assertThat(counts).containsEntry("ok", 3L).containsEntry("pending", 3L).containsEntry("running", 0L);
    }

    @Test
    void aSecondSigtermCutsTheGraceShort() {
        String seconds = LiveProcesses.uniqueSleepSeconds();
        long batch = procq.submit("nap", List.of(seconds, seconds, seconds));
        WorkerProcess worker = worker("5m");
        await().atMost(Duration.ofSeconds(20)).until(() -> LiveProcesses.running("sleep", seconds).size() == 3);

        worker.signal("TERM");
        await().atMost(Duration.ofSeconds(10)).until(() -> worker.log().contains("stopping: claiming nothing more"));
        long hurried = System.nanoTime();
        worker.signal("TERM");
        assertThat(worker.awaitExit(Duration.ofSeconds(20))).as(worker.logTail()).isZero();
        System.out.printf("recovery: second SIGTERM (grace 5m): worker exited 0 after %.1fs%n", (System.nanoTime() - hurried) / 1e9);

        assertThat(LiveProcesses.running("sleep", seconds)).isEmpty();
        List<String> states = jdbi.withHandle(h -> h.createQuery("SELECT DISTINCT state FROM procq.job WHERE batch_id = :b")
                .bind("b", batch).mapTo(String.class).list());
        assertThat(states).containsExactly("PENDING");
    }

    @Test
    void sigtermStopsAWorkerStillWaitingForTheDatabase() {
        Map<String, String> env = new HashMap<>(WorkerProcess.environment(postgres, jobTypes, 3, "5s"));
        // Nothing listens on port 1: the worker keeps trying to register.
        env.put("PROCQ_DATABASE_URL", "jdbc:postgresql://127.0.0.1:1/procq");
        WorkerProcess worker = WorkerProcess.start("no-database", env);
        workers.add(worker);
        await().atMost(Duration.ofSeconds(30)).until(() -> worker.log().contains("cannot register with the database yet"));

        worker.signal("TERM");
        assertThat(worker.awaitExit(Duration.ofSeconds(15))).as(worker.logTail()).isZero();
    }
}
