package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A target past its type's timeout: its whole process tree is ended, and it is retried after a backoff. */
class TimeoutTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              stubborn:
                command: ["sh", "-c", "sleep \\"$1\\" & wait", "stubborn", "{target}"]
                timeout: 1s
                maxAttempts: 2
                backoff: 1s
            """;

    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_METRICS_PORT", "off", "PROCQ_LEASE", "2s",
                "PROCQ_KILL_GRACE", "500ms")).startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    record Attempt(int attempt, String outcome, Integer signal, String error, OffsetDateTime startedAt,
                   OffsetDateTime finishedAt, long durationMs) {
    }

    @Test
    void timeoutKillsTheWholeTreeRetriesAfterBackoffThenFails() {
        String seconds = LiveProcesses.uniqueSleepSeconds();
        long batch = procq.submit("stubborn", List.of(seconds));

        // The grandchild sleep runs, then is gone with its parent at the timeout, on each attempt.
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).size() == 1);
        long firstSeen = System.nanoTime();
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", seconds).isEmpty());
        System.out.printf("recovery: timeout 1s: tree gone %.1fs after the sleep was first seen%n",
                (System.nanoTime() - firstSeen) / 1e9);
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        assertThat(LiveProcesses.running("sleep", seconds)).isEmpty();

        Map<String, Object> job = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT id, state, attempts, error, signal FROM procq.job WHERE batch_id = :b")
                .bind("b", batch).mapToMap().one());
        assertThat(job.get("state")).isEqualTo("FAILED");
        assertThat(job.get("attempts")).isEqualTo(2);
        assertThat(job.get("error")).isEqualTo("timed out after 1s");
        assertThat(job.get("signal")).as("sh ends on the SIGTERM to its group").isEqualTo(15);

        List<Attempt> attempts = procq.database().jdbi().withHandle(h -> h.createQuery("""
                SELECT attempt, outcome, signal, error, started_at, finished_at, duration_ms
                  FROM procq.job_attempt WHERE job_id = :j ORDER BY attempt""")
                .bind("j", (Long) job.get("id")).map((rs, ctx) -> new Attempt(rs.getInt(1), rs.getString(2),
                        (Integer) rs.getObject(3), rs.getString(4), rs.getObject(5, OffsetDateTime.class),
                        rs.getObject(6, OffsetDateTime.class), rs.getLong(7))).list());
        assertThat(attempts).extracting(Attempt::outcome).containsExactly("TIMEOUT", "TIMEOUT");
        assertThat(attempts).allSatisfy(a -> {
            assertThat(a.durationMs()).isBetween(1000L, 6000L);
            assertThat(a.error()).isEqualTo("timed out after 1s");
        });
        // Backoff 1s with jitter in [0.5, 1.5): the second attempt waited at least half a second.
        Duration waited = Duration.between(attempts.get(0).finishedAt(), attempts.get(1).startedAt());
        assertThat(waited).isGreaterThanOrEqualTo(Duration.ofMillis(500));
    }
}
