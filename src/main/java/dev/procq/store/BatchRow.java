package dev.procq.store;

import java.time.OffsetDateTime;

/**
 * One row of procq.batch; the four halt values are its failure budget (null: no such rule); {@code webhookUrl}
 * is where its end is announced (null: nowhere); the schedule and tick it was submitted for are null for a
 * batch a client submitted.
 */
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
        OffsetDateTime finishedAt,
        boolean paused,
        OffsetDateTime haltedAt,
        String haltReason,
        Long haltFailed,
        Double haltFailedPercent,
        Long haltAfter,
        Long haltInARow,
        String webhookUrl,
        Long scheduleId,
        OffsetDateTime scheduleTickAt) {

    /** Whether nothing of it will ever run again without a retry: DONE or CANCELLED. */
    public boolean isOver() {
        return state.equals(BatchState.DONE.name()) || state.equals(BatchState.CANCELLED.name());
    }
}
