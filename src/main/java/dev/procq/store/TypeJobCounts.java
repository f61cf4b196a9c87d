package dev.procq.store;

/**
 * Jobs of one type per state, summed over the batch counters, and the type's batches that claim
 * nothing now (PAUSED by an operator, HALTED by their failure budget).
 */
public record TypeJobCounts(String type, long pending, long running, long ok, long failed, long cancelled,
                            long pausedBatches, long haltedBatches) {
    /** The count for a state name as in procq.job.state. */
    public long of(JobState state) {
        return switch (state) {
            case PENDING -> pending;
            case RUNNING -> running;
            case OK -> ok;
            case FAILED -> failed;
            case CANCELLED -> cancelled;
        };
    }

    /** Batches of the type in a held state: {@link BatchState#PAUSED} or {@link BatchState#HALTED}. */
    public long heldBatches(BatchState state) {
        return switch (state) {
            case PAUSED -> pausedBatches;
            case HALTED -> haltedBatches;
            default -> throw new IllegalArgumentException(state + " is not a held state");
        };
    }
}
