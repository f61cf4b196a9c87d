package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** POST .../cancel stops running children and cancels the rest; POST .../retry runs the FAILED ones again. */
class BatchCancelRetryTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              nap:
                command: ["sh", "-c", "sleep \\"$1\\" & wait", "nap", "{target}"]
                concurrency: 2
              exists:
                command: ["test", "-e", "{target}"]
                concurrency: 2
            """;

    @TempDir
    static Path dir;

    static Procq procq;
    static Jdbi jdbi;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_METRICS_PORT", "off", "PROCQ_WORKER_CONCURRENCY", "4"))
                .startApi();
        procq.startWorker();
        jdbi = procq.database().jdbi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void cancelStopsRunningChildrenAndCancelsPendingJobs() {
        String seconds = LiveProcesses.uniqueSleepSeconds();
        long batch = procq.submit("nap", List.of(seconds, seconds, seconds, seconds, seconds));
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).size() == 2);

        long cancelled = System.nanoTime();
        Procq.Response response = procq.postJson("/api/v1/batches/" + batch + "/cancel", "");
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.json().get("state").asText()).isEqualTo("CANCELLED");
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
        await().atMost(Duration.ofSeconds(10))
                .until(() -> procq.batch(batch).get("counts").get("CANCELLED").asInt() == 5);
        System.out.printf("recovery: cancel: children gone and every job CANCELLED %.1fs after the request%n",
                (System.nanoTime() - cancelled) / 1e9);

        List<Map<String, Object>> jobs = jdbi.withHandle(h -> h.createQuery("""
                SELECT j.state, j.attempts, j.finished_at IS NOT NULL AS finished, a.outcome, a.error
                  FROM procq.job j LEFT JOIN procq.job_attempt a ON a.job_id = j.id
                 WHERE j.batch_id = :b ORDER BY j.id""").bind("b", batch).mapToMap().list());
        assertThat(jobs).allSatisfy(job -> {
            assertThat(job.get("state")).isEqualTo("CANCELLED");
            assertThat(job.get("finished")).isEqualTo(true);
        });
        // The two that ran were stopped; the three that waited never started.
        assertThat(jobs).filteredOn(job -> (Integer) job.get("attempts") == 1).hasSize(2).allSatisfy(job -> {
            assertThat(job.get("outcome")).isEqualTo("STOPPED");
            assertThat(job.get("error")).isEqualTo("cancelled while running");
        });
        assertThat(jobs).filteredOn(job -> (Integer) job.get("attempts") == 0).hasSize(3)
                .allSatisfy(job -> assertThat(job.get("outcome")).isNull());
        assertThat(procq.batch(batch).get("state").asText()).isEqualTo("CANCELLED");
    }

    @Test
    void retryRunsFailedJobsAgainAndLeavesTheOthers() throws Exception {
        Path present = Files.createFile(dir.resolve("present"));
        Path late1 = dir.resolve("late-1");
        Path late2 = dir.resolve("late-2");
        long batch = procq.submit("exists", List.of(present.toString(), late1.toString(), late2.toString()));
        await().atMost(Duration.ofSeconds(10)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        assertThat(procq.batch(batch).get("counts").get("FAILED").asInt()).isEqualTo(2);

        Files.createFile(late1);
        Files.createFile(late2);
        Procq.Response response = procq.postJson("/api/v1/batches/" + batch + "/retry", "");
        assertThat(response.status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> procq.batch(batch).get("counts").get("OK").asInt() == 3);

        Map<String, Integer> attempts = jdbi.withHandle(h -> h.createQuery(
                "SELECT target, attempts FROM procq.job WHERE batch_id = :b").bind("b", batch)
                .reduceRows(new java.util.HashMap<>(), (map, row) -> {
                    map.put(row.getColumn("target", String.class), row.getColumn("attempts", Integer.class));
                    return map;
                }));
        assertThat(attempts).containsEntry(present.toString(), 1)
                .containsEntry(late1.toString(), 2).containsEntry(late2.toString(), 2);
        List<String> outcomes = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.outcome FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                 WHERE j.target = :t ORDER BY a.attempt""").bind("t", late1.toString()).mapTo(String.class).list());
        assertThat(outcomes).containsExactly("FAILED", "OK");
        assertThat(procq.batch(batch).get("state").asText()).isEqualTo("DONE");
    }
}
