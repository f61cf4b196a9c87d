package dev.procq.worker;

import dev.procq.pool.RunningChild;
import dev.procq.store.ClaimedJob;

/**
 * A job this worker holds, from its claim until its result is written. Only held jobs have
 * their leases renewed; {@code stopCause} says why procq itself stopped the child.
 */
final class HeldJob {
    enum StopCause { CANCELLED, SHUTDOWN, LEASE_LOST }

    final ClaimedJob job;
    volatile RunningChild child;
    volatile StopCause stopCause;
    /** Set once the child ended (or never started) and the attempt's verdict is made. */
    volatile boolean ended;

    HeldJob(ClaimedJob job) {
        this.job = job;
    }

    /** Stops the child once, remembering the first cause. */
    void stop(StopCause cause, String reason) {
        synchronized (this) {
            if (stopCause != null) return;
            stopCause = cause;
        }
        RunningChild running = child;
        if (running != null) running.stop(reason);
    }
}
