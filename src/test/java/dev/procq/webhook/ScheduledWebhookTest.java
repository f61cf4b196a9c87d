package dev.procq.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.webhook.WebhookReceiver.Received;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A schedule's stored body names a webhook: the scheduler submits each tick's batch through the
 * same intake as a client's, allowlist included, and every batch of the schedule announces its end.
 */
class ScheduledWebhookTest {
    static final String SECRET = "test-secret-0123456789abcdef";

    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static WebhookReceiver receiver;
    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        receiver = new WebhookReceiver(SECRET);
        Map<String, String> env = Map.of(
                "PROCQ_WEBHOOK_ALLOWLIST", "ops=" + receiver.url("/procq"),
                "PROCQ_WEBHOOK_SECRET", SECRET,
                "PROCQ_WEBHOOK_BACKOFF", "100ms");
        procq = new Procq(postgres, """
                types:
                  echo:
                    command: ["echo", "{target}"]
                """, env).startApi();
        procq.startWorker();
        procq.startScheduler();
        procq.startWebhookSender();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
        receiver.close();
    }

    @Test
    void everyBatchOfAScheduleAnnouncesItsEnd() throws Exception {
        Procq.Response created = procq.postJson("/api/v1/schedules", """
                {"name": "health", "cron": "* * * * * *", "overlap": "skip",
                 "batch": {"type": "echo", "targets": ["a", "b"], "webhook": "ops"}}""");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        long schedule = created.json().get("id").asLong();

        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.deduplicated().size() >= 2);
        assertThat(procq.send("PATCH", "/api/v1/schedules/health", "{\"paused\": true}").status()).isEqualTo(200);

        for (Received delivery : List.copyOf(receiver.deduplicated().values())) {
            assertThat(delivery.signatureValid()).isTrue();
            assertThat(delivery.event()).isEqualTo("DONE");
            JsonNode batch = Procq.JSON.readTree(delivery.body()).get("batch");
            JsonNode shown = procq.batch(batch.get("id").asLong());
            assertThat(shown.get("scheduleId").asLong()).isEqualTo(schedule);
            assertThat(shown.get("webhook").asText()).isEqualTo(receiver.url("/procq"));
            assertThat(batch.get("counts").get("OK").asInt()).isEqualTo(2);
        }
        JsonNode shown = procq.get("/api/v1/schedules/health").json();
        assertThat(shown.get("lastError").isNull()).as(shown.toString()).isTrue();
    }
}
