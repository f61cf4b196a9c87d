package dev.procq.worker;

import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A worker's capacity in use, per type and in all. A slot is taken from a job's claim until its
 * result is written (or dropped), so procq.job never shows a worker with more RUNNING rows than
 * slots; a child is counted from its start to its end.
 */
final class Slots {
    private final Map<String, AtomicInteger> slotsByType = new ConcurrentHashMap<>();
    private final AtomicInteger slots = new AtomicInteger();
    private final Map<String, AtomicInteger> childrenByType = new ConcurrentHashMap<>();
    private final AtomicInteger children = new AtomicInteger();

    Slots(JobTypes types) {
        for (JobType type : types.all()) {
            slotsByType.put(type.name(), new AtomicInteger());
            childrenByType.put(type.name(), new AtomicInteger());
        }
    }

    /** A claimed job takes a slot and counts as a child until {@link #childEnded}. */
    void take(String type) {
        slots.incrementAndGet();
        slotsByType.get(type).incrementAndGet();
        children.incrementAndGet();
        childrenByType.get(type).incrementAndGet();
    }

    void childEnded(String type) {
        children.decrementAndGet();
        childrenByType.get(type).decrementAndGet();
    }

    /** The job's result was written, or will never be: its slot is free. */
    void release(String type) {
        slots.decrementAndGet();
        slotsByType.get(type).decrementAndGet();
    }

    int taken() {
        return slots.get();
    }

    int taken(String type) {
        return slotsByType.get(type).get();
    }

    int children() {
        return children.get();
    }

    /**
     * True when some type has slots taken but no child left running: those slots wait for
     * nothing but the write, so lingering for more results would only leave them idle.
     */
    boolean aTypeWaitsOnlyForItsWrite() {
        for (Map.Entry<String, AtomicInteger> type : slotsByType.entrySet()) {
            if (type.getValue().get() > 0 && childrenByType.get(type.getKey()).get() == 0) return true;
        }
        return false;
    }
}
