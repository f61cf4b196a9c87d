package dev.procq.store;

/** How an attempt ended, as stored in procq.job_attempt.outcome. */
public enum Outcome {
    OK, FAILED, TIMEOUT, SPAWN_FAILED, STOPPED, LEASE_EXPIRED
}
