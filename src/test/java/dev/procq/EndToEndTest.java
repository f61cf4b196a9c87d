package dev.procq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Phase 1 and phase 2 together: a batch over HTTP, real children, every row final and correct. */
class EndToEndTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              exit:
                command: ["sh", "-c", "echo out-$1; echo err-$1 >&2; exit \\"$1\\"", "exit", "{target}"]
                concurrency: 8
                targetPattern: '^[0-9]+$'
              ghost:
                command: ["procq-no-such-program", "{target}"]
                concurrency: 2
              suicide:
                command: ["sh", "-c", "if [ \\"$1\\" = die ]; then kill -9 $$; fi; echo alive", "suicide", "{target}"]
                concurrency: 2
            """;

    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_CONCURRENCY", "8", "PROCQ_WORKER_METRICS_PORT", "off"))
                .checkedAgainst(OpenApiContract.load()).startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void everyTargetOfABatchEndsOkOrFailedOnItsOwn() {
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 200; i++) targets.add(i % 10 == 7 ? "3" : "0");
        long id = procq.submit("exit", targets);

        JsonNode done = awaitDone(id);
        assertThat(done.get("state").asText()).isEqualTo("DONE");
        assertThat(done.get("total").asLong()).isEqualTo(200);
        assertThat(done.get("counts").get("OK").asLong()).isEqualTo(180);
        assertThat(done.get("counts").get("FAILED").asLong()).isEqualTo(20);
        assertThat(done.get("counts").get("PENDING").asLong()).isZero();
        assertThat(done.get("counts").get("RUNNING").asLong()).isZero();
        assertThat(done.get("finishedAt").isNull()).isFalse();

        // The same facts straight from the table, row by row.
        List<Map<String, Object>> rows = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT target, state, exit_code, error, attempts, finished_at IS NOT NULL AS finished "
                        + "FROM procq.job WHERE batch_id = :id ORDER BY id").bind("id", id).mapToMap().list());
        assertThat(rows).hasSize(200);
        for (Map<String, Object> row : rows) {
            boolean shouldFail = row.get("target").equals("3");
            assertThat(row.get("state")).isEqualTo(shouldFail ? "FAILED" : "OK");
            assertThat(row.get("exit_code")).isEqualTo(shouldFail ? 3 : 0);
            assertThat(row.get("attempts")).isEqualTo(1);
            assertThat(row.get("finished")).isEqualTo(true);
            if (shouldFail) assertThat((String) row.get("error")).isEqualTo("exit code 3");
        }

        // The failed jobs are listed by state, with their output tail kept per attempt.
        JsonNode failed = procq.get("/api/v1/batches/" + id + "/jobs?state=FAILED&limit=100").json();
        assertThat(failed.get("items")).hasSize(20);
        long failedJob = failed.get("items").get(0).get("id").asLong();
        JsonNode job = procq.get("/api/v1/jobs/" + failedJob).json();
        assertThat(job.get("state").asText()).isEqualTo("FAILED");
        assertThat(job.get("exitCode").asInt()).isEqualTo(3);
        JsonNode attempt = job.get("attempts").get(0);
        assertThat(attempt.get("outcome").asText()).isEqualTo("FAILED");
        assertThat(attempt.get("exitCode").asInt()).isEqualTo(3);
        assertThat(attempt.get("outputTail").asText()).contains("out-3").contains("err-3");
    }

    @Test
    void aMissingProgramFailsItsRowsAndNothingElse() {
        long ghost = procq.submit("ghost", List.of("a", "b"));
        long fine = procq.submit("exit", List.of("0", "0", "0"));
        JsonNode ghostDone = awaitDone(ghost);
        JsonNode fineDone = awaitDone(fine);
        assertThat(ghostDone.get("counts").get("FAILED").asLong()).isEqualTo(2);
        assertThat(fineDone.get("counts").get("OK").asLong()).isEqualTo(3);
        JsonNode job = procq.get("/api/v1/batches/" + ghost + "/jobs").json().get("items").get(0);
        assertThat(job.get("error").asText()).contains("procq-no-such-program");
    }

    @Test
    void aChildKilledBySignalFailsOnlyItsRow() {
        long id = procq.submit("suicide", List.of("live", "die", "live"));
        JsonNode done = awaitDone(id);
        assertThat(done.get("counts").get("OK").asLong()).isEqualTo(2);
        assertThat(done.get("counts").get("FAILED").asLong()).isEqualTo(1);
        Map<String, Object> killed = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT state, signal, exit_code FROM procq.job WHERE batch_id = :id AND target = 'die'")
                .bind("id", id).mapToMap().one());
        assertThat(killed.get("state")).isEqualTo("FAILED");
        assertThat(killed.get("signal")).isEqualTo(9);
    }

    @Test
    void batchCountersAgreeWithTheRows() {
        long id = procq.submit("exit", List.of("0", "1", "0", "2"));
        awaitDone(id);
        List<Map<String, Object>> drift = procq.database().jdbi().withHandle(h -> h.createQuery("""
                SELECT b.id FROM procq.batch b
                  LEFT JOIN (SELECT batch_id,
                                    count(*) FILTER (WHERE state = 'PENDING') AS pending,
                                    count(*) FILTER (WHERE state = 'RUNNING') AS running,
                                    count(*) FILTER (WHERE state = 'OK') AS ok,
                                    count(*) FILTER (WHERE state = 'FAILED') AS failed,
                                    count(*) FILTER (WHERE state = 'CANCELLED') AS cancelled
                               FROM procq.job GROUP BY batch_id) c ON c.batch_id = b.id
                 WHERE (b.pending, b.running, b.ok, b.failed, b.cancelled)
                       IS DISTINCT FROM (c.pending, c.running, c.ok, c.failed, c.cancelled)""")
                .mapToMap().list());
        assertThat(drift).isEmpty();
    }

    static JsonNode awaitDone(long id) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> procq.batch(id).get("state").asText().equals("DONE"));
        return procq.batch(id);
    }
}
