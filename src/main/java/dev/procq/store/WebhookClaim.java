package dev.procq.store;

import java.time.OffsetDateTime;

/** A delivery a sender holds, with the batch as it stands when it was taken. */
public record WebhookClaim(
        long id,
        long batchId,
        String event,
        String url,
        int attempts,
        OffsetDateTime createdAt,
        OffsetDateTime stateSince,
        String type,
        long total,
        long pending,
        long running,
        long ok,
        long failed,
        long cancelled,
        OffsetDateTime batchCreatedAt,
        OffsetDateTime startedAt,
        OffsetDateTime finishedAt,
        String haltReason) {
}
