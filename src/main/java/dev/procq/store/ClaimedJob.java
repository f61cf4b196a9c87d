package dev.procq.store;

import java.time.OffsetDateTime;

/**
 * A job this worker now holds. {@code attempt} is the fencing token: every later write
 * names it, so a worker that lost the lease cannot write.
 */
public record ClaimedJob(
        long id,
        long batchId,
        String type,
        String target,
        String meta,
        int attempt,
        int maxAttempts,
        OffsetDateTime createdAt,
        OffsetDateTime startedAt) {
}
