package dev.procq.store;

/** How an attempt ended, as stored in procq.job_attempt.outcome. */
public enum Outcome {
    OK, FAILED, TIMEOUT, SPAWN_FAILED, STOPPED, LEASE_EXPIRED,
    /** The worker's spawn helper died while the child ran: handed back, not counted. */
    LOST,
    /** The kernel's OOM killer ended a process of the child's cgroup (memory.events oom_kill), and it failed. */
    OOM_KILLED
}
