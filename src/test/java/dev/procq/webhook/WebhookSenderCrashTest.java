package dev.procq.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerProcess;
import dev.procq.webhook.WebhookReceiver.Answer;
import dev.procq.webhook.WebhookReceiver.Received;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * At least once across a crash: the batch's DONE commits with its outbox row, the worker JVM that
 * sends it is SIGKILLed while its request is in flight (the receiver holds it unanswered), and a
 * second worker delivers it, with the same delivery id, once the first one's lease has passed.
 */
class WebhookSenderCrashTest {
    static final String SECRET = "crash-secret-0123456789abcdef";

    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    @Test
    void aSenderKilledMidSendLosesNothing(@TempDir Path dir) throws Exception {
        try (WebhookReceiver receiver = new WebhookReceiver(SECRET, Answer.STALL)) {
            Path types = dir.resolve("jobtypes.yaml");
            Files.writeString(types, """
                    types:
                      exit:
                        command: ["sh", "-c", "exit \\"$1\\"", "exit", "{target}"]
                    """);
            Map<String, String> webhooks = Map.of(
                    "PROCQ_WEBHOOK_ALLOWLIST", "hooks=" + receiver.url("/hooks"),
                    "PROCQ_WEBHOOK_SECRET", SECRET,
                    "PROCQ_WEBHOOK_TIMEOUT", "3s");
            Map<String, String> env = new HashMap<>(WorkerProcess.environment(postgres, types, 4, "3s"));
            env.putAll(webhooks);
            Jdbi jdbi = postgres.database().jdbi();
            long batch;
            // The in-process API only records the batch: it runs no sender.
            try (Procq api = new Procq(postgres, Files.readString(types), webhooks).startApi()) {
                Procq.Response response = api.postJson("/api/v1/batches",
                        "{\"type\": \"exit\", \"targets\": [\"0\"], \"webhook\": \"hooks\"}");
                assertThat(response.status()).as(response.body()).isEqualTo(202);
                batch = response.json().get("id").asLong();
            }

            long deliveryId;
            try (WorkerProcess first = WorkerProcess.start("webhook-first", env)) {
                // The worker runs the batch to DONE and its sender takes the delivery; the receiver holds the request.
                assertThat(receiver.stallReached.await(60, TimeUnit.SECONDS)).as(first.logTail()).isTrue();
                first.kill();
                first.awaitExit(Duration.ofSeconds(10));
                List<Received> seen = receiver.received();
                assertThat(seen).hasSize(1);
                deliveryId = seen.get(0).deliveryId();
            }
            Map<String, Object> held = jdbi.withHandle(h -> h.createQuery(
                    "SELECT state, attempts, (SELECT count(*) FROM procq.webhook_attempt) AS tries FROM procq.webhook_delivery")
                    .mapToMap().one());
            assertThat(held).containsEntry("state", "PENDING").containsEntry("attempts", 1).containsEntry("tries", 0L);

            try (WorkerProcess second = WorkerProcess.start("webhook-second", env)) {
                await().atMost(Duration.ofSeconds(60)).failFast(() -> !second.isAlive())
                        .until(() -> receiver.deduplicated().size() == 1);
                await().atMost(Duration.ofSeconds(10)).until(() -> "DELIVERED".equals(jdbi.withHandle(h -> h.createQuery(
                        "SELECT state FROM procq.webhook_delivery").mapTo(String.class).one())));
                List<Received> seen = receiver.received();
                // One duplicate, inside the at-least-once window, with the same delivery id.
                assertThat(seen).hasSize(2).extracting(Received::deliveryId).containsOnly(deliveryId);
                assertThat(seen).extracting(Received::event).containsOnly("DONE");
                assertThat(seen).allMatch(Received::signatureValid);
                Map<String, Object> tried = jdbi.withHandle(h -> h.createQuery("""
                        SELECT d.attempts, a.attempt, a.http_status, a.sender
                          FROM procq.webhook_delivery d JOIN procq.webhook_attempt a ON a.delivery_id = d.id
                         WHERE d.batch_id = :batch""").bind("batch", batch).mapToMap().one());
                assertThat(tried).containsEntry("attempts", 2).containsEntry("attempt", 2).containsEntry("http_status", 200);
                assertThat((String) tried.get("sender")).startsWith("worker@").endsWith(":" + second.pid());
            }
        }
    }
}
