package dev.procq.store;

import java.time.OffsetDateTime;

/** One row of procq.schedule; {@code body} is the stored POST /api/v1/batches body as JSON text. */
public record ScheduleRow(
        long id,
        String name,
        String cron,
        String timeZone,
        String body,
        String type,
        String overlap,
        String catchUp,
        boolean paused,
        OffsetDateTime nextRunAt,
        OffsetDateTime queuedTickAt,
        String lastError,
        String owner,
        OffsetDateTime createdAt,
        OffsetDateTime updatedAt) {
}
