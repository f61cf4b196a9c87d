package dev.procq.store;

import java.time.OffsetDateTime;

/** One minute of throughput: the jobs that ended OK and FAILED in the minute from {@code start}. */
public record ThroughputBucket(OffsetDateTime start, long ok, long failed) {
}
