package dev.procq.store;

import java.time.OffsetDateTime;

/** One row of procq.webhook_attempt; {@code httpStatus} is null when no answer came. */
public record WebhookAttemptRow(
        long deliveryId,
        int attempt,
        OffsetDateTime startedAt,
        long durationMs,
        Integer httpStatus,
        String error,
        String sender) {
}
