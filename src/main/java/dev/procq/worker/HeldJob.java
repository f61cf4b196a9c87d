package dev.procq.worker;

import dev.procq.pool.RunningChild;
import dev.procq.store.ClaimedJob;

/**
 * A job this worker holds, from its claim until its result is written. Only held jobs have
 * their leases renewed; {@code stopCause} says why procq itself stopped the child.
 */
final class HeldJob {
    enum StopCause {
        CANCELLED, SHUTDOWN, LEASE_LOST,
        /** Below PROCQ_WORKER_MEMFREE_KILL: handed back as a shutdown hands back (see {@link HostGate}). */
        LOW_MEMORY
    }

    final ClaimedJob job;
    private RunningChild child;
    /** When the child started (System.nanoTime); the youngest is the first stopped for memory. */
    private long startedAtNanos;
    volatile StopCause stopCause;
    /** Set once the child ended (or never started) and the attempt's verdict is made. */
    volatile boolean ended;
    /**
     * When the child must begin to end unless the lease is renewed first (System.nanoTime): see
     * {@link LeaseTerms}. Only ever moves later.
     */
    private long fenceAtNanos;

    /** True while its lease was granted too recently to need this renewal ({@link LeaseTerms#freshAt}). */
    synchronized boolean leaseFresh(LeaseTerms terms, long nowNanos) {
        return terms.freshAt(fenceAtNanos, nowNanos);
    }

    HeldJob(ClaimedJob job, long fenceAtNanos) {
        this.job = job;
        this.fenceAtNanos = fenceAtNanos;
    }

    /** Stops the child once, remembering the first cause. */
    void stop(StopCause cause, String reason) {
        RunningChild running;
        synchronized (this) {
            if (stopCause != null) return;
            stopCause = cause;
            running = child;
        }
        if (running != null) running.stop(reason);
    }

    /**
     * The child started for this job; it gets the job's current deadline. Deadlines are handed
     * to the child under this object's lock, so a renewal racing the start can never leave the
     * child with the older one.
     */
    void started(RunningChild started) {
        StopCause cause;
        synchronized (this) {
            child = started;
            startedAtNanos = System.nanoTime();
            started.fenceAt(fenceAtNanos);
            cause = stopCause;
        }
        if (cause != null) started.stop("stopped before it started");
    }

    /** True while its child runs and nobody has asked it to stop. */
    synchronized boolean running() {
        return child != null && stopCause == null && !ended;
    }

    synchronized long startedAtNanos() {
        return startedAtNanos;
    }

    /** The lease was renewed by a statement sent at {@code sentAtNanos}: the deadline moves on. */
    synchronized void renewed(LeaseTerms terms, long sentAtNanos) {
        long fenceAt = terms.fenceAt(sentAtNanos);
        if (fenceAt - fenceAtNanos <= 0) return;
        fenceAtNanos = fenceAt;
        if (child != null) child.fenceAt(fenceAt);
    }

    /** True once the child's deadline has passed: too late to start it. */
    synchronized boolean pastDeadline() {
        return System.nanoTime() - fenceAtNanos >= 0;
    }
}
