package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** A running worker prunes by PROCQ_RETENTION on its own, and not at all with PROCQ_RETENTION=off. */
class RetentionInWorkerTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, "types:\n  echo:\n    command: [\"echo\", \"{target}\"]\n",
                Map.of("PROCQ_WORKER_METRICS_PORT", "off")).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static long finishedAgo(String interval) {
        long id = procq.submit("echo", List.of("a"));
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(id).get("state").asText().equals("DONE"));
        procq.database().jdbi().useHandle(handle ->
                handle.execute("UPDATE procq.batch SET finished_at = now() - ?::interval WHERE id = ?", interval, id));
        return id;
    }

    @Test
    void aWorkerPrunesPastItsRetentionAndOffKeepsEverything() throws Exception {
        Worker keeper = procq.startWorker(Map.of("PROCQ_RETENTION", "off"));
        long kept = finishedAgo("400 days");
        await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
                .until(() -> procq.get("/api/v1/batches/" + kept).status() == 200);
        keeper.shutdown(Duration.ofSeconds(5));

        procq.startWorker(Map.of("PROCQ_RETENTION", "1h"));
        long old = finishedAgo("2 hours");
        long recent = finishedAgo("50 minutes");

        await().atMost(Duration.ofSeconds(15)).until(() -> procq.get("/api/v1/batches/" + old).status() == 404);
        assertThat(procq.get("/api/v1/batches/" + kept).status()).as("older still, so pruned too").isEqualTo(404);
        assertThat(procq.get("/api/v1/batches/" + recent).status()).isEqualTo(200);
    }
}
