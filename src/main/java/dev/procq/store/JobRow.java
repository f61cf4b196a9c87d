package dev.procq.store;

import java.time.OffsetDateTime;

/** One row of procq.job, as the API shows it. */
public record JobRow(
        long id,
        long batchId,
        String type,
        String target,
        String meta,
        String state,
        int attempts,
        int maxAttempts,
        Long workerId,
        Integer exitCode,
        Integer signal,
        String error,
        OffsetDateTime createdAt,
        OffsetDateTime runAt,
        OffsetDateTime startedAt,
        OffsetDateTime finishedAt) {
}
