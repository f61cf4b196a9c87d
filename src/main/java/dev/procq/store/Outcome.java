package dev.procq.store;

/** How an attempt ended, as stored in procq.job_attempt.outcome. */
public enum Outcome {
    OK, FAILED, TIMEOUT, SPAWN_FAILED, STOPPED, LEASE_EXPIRED,
    /** The worker's spawn helper died while the child ran: handed back, not counted. */
    LOST
}
