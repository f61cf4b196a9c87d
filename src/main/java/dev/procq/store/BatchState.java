package dev.procq.store;

/** A batch's state, derived in the schema from its counters (the generated column procq.batch.state). */
public enum BatchState {
    PENDING, RUNNING, DONE, CANCELLED
}
