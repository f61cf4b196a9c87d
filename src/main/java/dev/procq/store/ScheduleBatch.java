package dev.procq.store;

import java.time.OffsetDateTime;

/** A batch a schedule submitted, as its schedule's page lists it. */
public record ScheduleBatch(long id, long scheduleId, OffsetDateTime tickAt, String state, long total, long ok,
                            long failed, OffsetDateTime createdAt, OffsetDateTime finishedAt) {
}
