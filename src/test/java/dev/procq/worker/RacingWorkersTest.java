package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Three worker JVMs claim from one batch side by side: every target runs once, none twice. */
class RacingWorkersTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final int TARGETS = 3000;

    @TempDir
    Path dir;

    @Test
    void threeWorkersRunEachOfThreeThousandTargetsExactlyOnce() throws Exception {
        Path ran = dir.resolve("ran.txt");
        String types = """
                types:
                  append:
                    command: ["sh", "-c", "echo \\"$1\\" >> \\"$2\\"", "append", "{target}", "%s"]
                    concurrency: 8
                """.formatted(ran);
        Path jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, types);
        Jdbi jdbi = postgres.database().jdbi();
        List<WorkerProcess> workers = new ArrayList<>();
        try (Procq procq = new Procq(postgres, types, Map.of()).startApi()) {
            for (int i = 0; i < 3; i++) {
                workers.add(WorkerProcess.start("racer-" + i,
                        WorkerProcess.environment(postgres, jobTypes, 8, "15s")));
            }
            for (WorkerProcess worker : workers) worker.awaitRegistered(jdbi);
            List<String> targets = new ArrayList<>();
            for (int i = 0; i < TARGETS; i++) targets.add("target-" + i);
            long started = System.nanoTime();
            long batch = procq.submit("append", targets);

            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(200))
                    .until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
            System.out.printf("recovery: three workers ran %d targets in %.1fs%n", TARGETS,
                    (System.nanoTime() - started) / 1e9);

            // Exactly once in the table: OK, one attempt, one attempt row, each.
            Map<String, Object> table = jdbi.withHandle(h -> h.createQuery("""
                    SELECT count(*) FILTER (WHERE state = 'OK' AND attempts = 1) AS ok_once,
                           count(*) AS jobs,
                           (SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                             WHERE j.batch_id = :b AND a.outcome = 'OK' AND a.attempt = 1) AS attempt_rows,
                           (SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                             WHERE j.batch_id = :b) AS all_attempt_rows,
                           count(DISTINCT worker_id) AS workers
                      FROM procq.job WHERE batch_id = :b""").bind("b", batch).mapToMap().one());
            assertThat(table.get("jobs")).isEqualTo((long) TARGETS);
            assertThat(table.get("ok_once")).isEqualTo((long) TARGETS);
            assertThat(table.get("attempt_rows")).isEqualTo((long) TARGETS);
            assertThat(table.get("all_attempt_rows")).isEqualTo((long) TARGETS);
            assertThat(table.get("workers")).as("every worker took part").isEqualTo(3L);

            // Exactly once in the file the children wrote.
            Map<String, Long> runs = Files.readAllLines(ran).stream()
                    .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
            assertThat(runs.keySet()).containsExactlyInAnyOrderElementsOf(targets);
            assertThat(runs.values()).allMatch(count -> count == 1);

            // The batch's counters are its jobs' own, however the three took turns on its row.
            Map<String, Object> counters = jdbi.withHandle(h -> h.createQuery("""
                    SELECT pending, running, ok, failed, cancelled,
                           (SELECT count(*) FROM procq.batch_delta d WHERE d.batch_id = b.id) AS unfolded
                      FROM procq.batch b WHERE id = :b""").bind("b", batch).mapToMap().one());
            assertThat(counters).containsEntry("pending", 0L).containsEntry("running", 0L)
                    .containsEntry("ok", (long) TARGETS).containsEntry("failed", 0L).containsEntry("unfolded", 0L);

            assertTheWorkersFoldWhatNoStatementDid(jdbi);

            for (WorkerProcess worker : workers) worker.signal("TERM");
            for (WorkerProcess worker : workers) {
                assertThat(worker.awaitExit(Duration.ofSeconds(20))).as(worker.logTail()).isZero();
            }
        } finally {
            workers.forEach(WorkerProcess::close);
        }
    }

    /**
     * A result written while another transaction held its batch's row, with no statement on that
     * batch after it: the workers' periodic fold takes it into the counters and ends the batch.
     */
    private static void assertTheWorkersFoldWhatNoStatementDid(Jdbi jdbi) {
        long batch = jdbi.withHandle(h -> {
            long id = h.createQuery("INSERT INTO procq.batch (type, total) VALUES ('append', 1) RETURNING id")
                    .mapTo(Long.class).one();
            h.execute("""
                    INSERT INTO procq.job (batch_id, type, target, state, attempts, worker_id, lease_expires_at, started_at)
                    VALUES (?, 'append', 'held-row', 'RUNNING', 1, 0, now() + interval '1 hour', now())""", id);
            return id;
        });
        try (org.jdbi.v3.core.Handle holder = jdbi.open()) {
            holder.begin();
            holder.execute("SELECT 1 FROM procq.batch WHERE id = ? FOR NO KEY UPDATE", batch);
            jdbi.useHandle(h -> h.execute("""
                    UPDATE procq.job SET state = 'OK', lease_expires_at = NULL, finished_at = now()
                     WHERE batch_id = ?""", batch));
            holder.rollback();
        }
        long running = jdbi.withHandle(h -> h.createQuery("SELECT running FROM procq.batch WHERE id = :b")
                .bind("b", batch).mapTo(Long.class).one());
        assertThat(running).as("left for the fold").isEqualTo(1L);
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> jdbi.withHandle(h -> h.createQuery("SELECT state FROM procq.batch WHERE id = :b")
                        .bind("b", batch).mapTo(String.class).one()).equals("DONE"));
    }
}
