package dev.procq.store;

import java.time.OffsetDateTime;

/** One row of procq.batch. */
public record BatchRow(
        long id,
        String type,
        int priority,
        String state,
        long total,
        long pending,
        long running,
        long ok,
        long failed,
        long cancelled,
        OffsetDateTime createdAt,
        OffsetDateTime startedAt,
        OffsetDateTime finishedAt) {
}
