package dev.procq.store;

/** Jobs of one type per state, summed over the batch counters. */
public record TypeJobCounts(String type, long pending, long running, long ok, long failed, long cancelled) {
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
}
