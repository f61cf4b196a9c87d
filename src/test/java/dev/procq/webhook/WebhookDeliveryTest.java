package dev.procq.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.webhook.WebhookReceiver.Answer;
import dev.procq.webhook.WebhookReceiver.Received;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Webhooks end to end in one process: the API takes a batch with a webhook, a worker runs it, the
 * batch trigger fills the outbox, and the sender delivers to a real receiver on 127.0.0.1 that fails
 * the first tries with a 500 and a connection reset.
 */
class WebhookDeliveryTest {
    static final String SECRET = "test-secret-0123456789abcdef";

    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static WebhookReceiver receiver;
    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        receiver = new WebhookReceiver(SECRET, Answer.ERROR_500, Answer.RESET);
        Map<String, String> env = Map.of(
                "PROCQ_WEBHOOK_ALLOWLIST", "hooks=" + receiver.url("/hooks/"),
                "PROCQ_WEBHOOK_SECRET", SECRET,
                "PROCQ_WEBHOOK_BACKOFF", "100ms",
                "PROCQ_WEBHOOK_TIMEOUT", "3s");
        procq = new Procq(postgres, """
                types:
                  exit:
                    command: ["sh", "-c", "exit \\"$1\\"", "exit", "{target}"]
                    concurrency: 1
                  sleep:
                    command: ["sleep", "{target}"]
                    concurrency: 1
                """, env).checkedAgainst(OpenApiContract.load()).startApi();
        procq.startWorker();
        procq.startWebhookSender();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
        receiver.close();
    }

    @Test
    void doneCancelledAndHaltedAreEachDeliveredOnceThroughFailures() {
        long done = submit("{\"type\": \"exit\", \"targets\": [\"0\", \"0\"], \"webhook\": \"hooks\"}");
        awaitState(done, "DONE");
        // The first delivery meets the 500 and the reset, and gets through on its third try.
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.deduplicated().size() == 1);

        long cancelled = submit("{\"type\": \"sleep\", \"targets\": [\"30\", \"30\"], \"webhook\": \"hooks\"}");
        await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(cancelled).get("counts").get("RUNNING").asLong() == 1);
        assertThat(procq.postJson("/api/v1/batches/" + cancelled + "/cancel", "").status()).isEqualTo(200);
        awaitState(cancelled, "CANCELLED");

        // Text form: one failure is the budget; the batch halts with targets left, then is resumed and ends DONE.
        Procq.Response text = procq.post("/api/v1/batches?type=exit&halt=failed=1&webhook=hooks", "text/plain",
                "1\n0\n0\n", Map.of());
        assertThat(text.status()).isEqualTo(202);
        long halted = text.json().get("id").asLong();
        awaitState(halted, "HALTED");
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.deduplicated().size() == 3);
        assertThat(procq.postJson("/api/v1/batches/" + halted + "/resume", "{\"halt\": {}}").status()).isEqualTo(200);
        awaitState(halted, "DONE");
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.deduplicated().size() == 4);

        // Every request was signed over its timestamp and body, and signed just now.
        long now = System.currentTimeMillis() / 1000;
        for (Received request : receiver.received()) {
            assertThat(request.signatureValid()).as("signature of %s", request).isTrue();
            assertThat(Math.abs(now - request.timestamp())).isLessThan(300);
        }
        Map<Long, List<String>> eventsByBatch = receiver.deduplicated().values().stream()
                .collect(Collectors.groupingBy(r -> body(r).get("batch").get("id").asLong(),
                        Collectors.mapping(Received::event, Collectors.toList())));
        assertThat(eventsByBatch.get(done)).containsExactly("DONE");
        assertThat(eventsByBatch.get(cancelled)).containsExactly("CANCELLED");
        assertThat(eventsByBatch.get(halted)).containsExactlyInAnyOrder("HALTED", "DONE");

        // The first delivery's three tries all carried one delivery id; only the third was answered 2xx.
        List<Received> first = receiver.received().subList(0, 3);
        assertThat(first).extracting(Received::deliveryId).containsOnly(first.get(0).deliveryId());
        assertThat(first).extracting(Received::answer).containsExactly(Answer.ERROR_500, Answer.RESET, Answer.OK);
        JsonNode summary = body(first.get(2));
        assertThat(summary.get("event").asText()).isEqualTo("DONE");
        assertThat(summary.get("batch").get("counts").get("OK").asLong()).isEqualTo(2);
        assertThat(summary.get("batch").get("type").asText()).isEqualTo("exit");
        assertThat(summary.get("links").get("api").asText()).endsWith("/api/v1/batches/" + done);

        // The tries, through the API ...
        JsonNode deliveries = procq.get("/api/v1/batches/" + done + "/webhooks").json().get("deliveries");
        assertThat(deliveries).hasSize(1);
        assertThat(deliveries.get(0).get("state").asText()).isEqualTo("DELIVERED");
        assertThat(deliveries.get(0).get("id").asLong()).isEqualTo(first.get(0).deliveryId());
        JsonNode attempts = deliveries.get(0).get("attempts");
        assertThat(attempts).hasSize(3);
        assertThat(attempts.get(0).get("httpStatus").asInt()).isEqualTo(500);
        assertThat(attempts.get(1).get("httpStatus").isNull()).isTrue();
        assertThat(attempts.get(1).get("error").asText()).startsWith("connection failed");
        assertThat(attempts.get(2).get("httpStatus").asInt()).isEqualTo(200);
        assertThat(procq.get("/api/v1/batches/" + halted + "/webhooks").json().get("deliveries")).hasSize(2);

        // ... and in SQL: one row per end, all delivered; and in /metrics.
        List<Map<String, Object>> rows = postgres.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT batch_id, event, state, attempts FROM procq.webhook_delivery ORDER BY id").mapToMap().list());
        assertThat(rows).hasSize(4);
        assertThat(rows).extracting(r -> r.get("state")).containsOnly("DELIVERED");
        long attemptRows = postgres.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.webhook_attempt").mapTo(Long.class).one());
        assertThat(attemptRows).isEqualTo(receiver.received().size());
        String metrics = procq.metrics().scrape();
        assertThat(metrics).containsPattern("procq_webhook_attempts_total\\{[^}]*outcome=\"delivered\"[^}]*} 4.0");
        assertThat(metrics).containsPattern("procq_webhook_attempts_total\\{[^}]*outcome=\"failed\"[^}]*} 2.0");
        assertThat(metrics).contains("procq_webhook_delivery_latency_seconds_count");
        assertThat(metrics).contains("procq_webhook_outbox_pending");
    }

    @Test
    void aDestinationOutsideTheAllowlistIsRefusedAndRecordsNothing() {
        long batchesBefore = countBatches();
        assertRefused(procq.postJson("/api/v1/batches",
                "{\"type\": \"exit\", \"targets\": [\"0\"], \"webhook\": \"http://127.0.0.1:1/evil\"}"));
        assertRefused(procq.postJson("/api/v1/batches",
                "{\"type\": \"exit\", \"webhook\": \"" + receiver.url("/hooks/../admin") + "\", \"targets\": [\"0\"]}"));
        assertRefused(procq.postJson("/api/v1/batches", "{\"type\": \"exit\", \"targets\": [\"0\"], \"webhook\": \"nope\"}"));
        assertRefused(procq.post("/api/v1/batches?type=exit&webhook=nope", "text/plain", "0\n", Map.of()));
        assertThat(countBatches()).isEqualTo(batchesBefore);
    }

    private static void assertRefused(Procq.Response response) {
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("error").asText()).contains("is not an allowed webhook destination");
        // The refusal names the allowed destinations, never the operator's URLs.
        assertThat(response.json().get("error").asText()).endsWith("(allowed names: hooks)");
    }

    private static long countBatches() {
        return postgres.database().jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM procq.batch").mapTo(Long.class).one());
    }

    private static long submit(String json) {
        Procq.Response response = procq.postJson("/api/v1/batches", json);
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        return response.json().get("id").asLong();
    }

    private static void awaitState(long batch, String state) {
        await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals(state));
    }

    private static JsonNode body(Received received) {
        try {
            return Procq.JSON.readTree(received.body());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
