package dev.procq.store;

/**
 * The states of a job, as the schema's CHECK constraint names them. The moves between them are
 * made, and refused, by the guarded statements of {@link JobDao} alone; docs/state-machine.md
 * names the statement behind each move and JobTransitionsTest tries every statement from every state.
 */
public enum JobState {
    PENDING, RUNNING, OK, FAILED, CANCELLED
}
