package dev.procq.store;

/**
 * A batch's state, derived in the schema from its counters and flags (the generated column
 * procq.batch.state). PAUSED and HALTED batches claim nothing; their PENDING jobs wait.
 */
public enum BatchState {
    PENDING, RUNNING, PAUSED, HALTED, DONE, CANCELLED
}
