package dev.procq.store;

import java.time.OffsetDateTime;

/** One row of procq.webhook_delivery. */
public record WebhookDeliveryRow(
        long id,
        long batchId,
        String event,
        String url,
        String state,
        int attempts,
        OffsetDateTime createdAt,
        OffsetDateTime nextAttemptAt,
        OffsetDateTime finishedAt,
        String lastError) {
}
