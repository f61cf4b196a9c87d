package dev.procq.pool;

import dev.procq.pool.ChildResult.Outcome;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What a child of either backend has: its result, and why procq ended it early if it did. The
 * first of timeout, stop and shutdown wins; a child that already ended by itself keeps its own
 * outcome.
 */
abstract class EndableChild implements RunningChild {

    protected final ChildSpec spec;
    protected final CompletableFuture<ChildResult> result = new CompletableFuture<>();
    private final AtomicReference<Ending> ending = new AtomicReference<>();
    private final AtomicBoolean terminationStarted = new AtomicBoolean();
    private final Object endLock = new Object();
    private Runnable onEnd;
    private boolean ended;
    private ScheduledFuture<?> fenceTask;
    private volatile long fenceAtNanos;

    private record Ending(Outcome outcome, String reason) {
    }

    EndableChild(ChildSpec spec) {
        this.spec = spec;
    }

    @Override
    public ChildSpec spec() {
        return spec;
    }

    @Override
    public CompletableFuture<ChildResult> result() {
        return result.copy();
    }

    @Override
    public CompletableFuture<ChildResult> stop(String reason) {
        Objects.requireNonNull(reason, "reason");
        if (claimEnding(Outcome.STOPPED, reason)) {
            terminateGroup();
        }
        return result();
    }

    @Override
    public void fenceAt(long nanoTime) {
        ScheduledExecutorService timer = timer();
        synchronized (endLock) {
            if (ended) {
                return;
            }
            fenceAtNanos = nanoTime;
            if (fenceTask != null) {
                fenceTask.cancel(false);
            }
            fenceTask = schedule(timer, nanoTime);
        }
        keepDeadline(nanoTime);
    }

    private ScheduledFuture<?> schedule(ScheduledExecutorService timer, long nanoTime) {
        if (timer == null) {
            return null;
        }
        try {
            return timer.schedule(this::fenceIfDue, nanoTime - System.nanoTime(), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closed) {
            // The launcher is closing and ends every child itself.
            return null;
        }
    }

    /** The timer for this child's deadlines; null for a child that never started. */
    abstract ScheduledExecutorService timer();

    /** Hands the deadline to whatever can keep it outside this JVM; by default nothing can. */
    void keepDeadline(long nanoTime) {
    }

    private void fenceIfDue() {
        // A timer task cancelled too late still runs: only the newest deadline counts.
        if (System.nanoTime() - fenceAtNanos >= 0) {
            fenced();
        }
    }

    /** The deadline passed here: the child is ended from this JVM. */
    void fenced() {
        if (claimEnding(Outcome.FENCED, null)) {
            terminateGroup();
        }
    }

    /** The spawn helper reports that it ended the child at its deadline. */
    void fencedOutside() {
        claimEnding(Outcome.FENCED, null);
    }

    /** True while ending the child early can still change how it ends. */
    abstract boolean stillRunning();

    /** SIGTERM to the child's whole group now, SIGKILL after its kill grace; called once. */
    abstract void signalTermination();

    /**
     * Marks the child as ended for shutdown without signalling it, for a caller that signals
     * many at once. False when the child had already ended or was being ended.
     */
    boolean claimShutdown(String reason) {
        return claimEnding(Outcome.STOPPED, reason) && terminationStarted.compareAndSet(false, true);
    }

    /** The child ran past its spec's timeout. */
    void timedOut() {
        if (claimEnding(Outcome.TIMED_OUT, null)) {
            terminateGroup();
        }
    }

    /** Starts the termination once, whoever asks first. */
    void terminateGroup() {
        if (terminationStarted.compareAndSet(false, true)) {
            signalTermination();
        }
    }

    /** How the child ended, from what the kernel said and what procq did to it. */
    ChildResult describe(Integer exitCode, Integer signal, Duration duration, String outputTail) {
        Ending why = ending.get();
        return ChildResult.ended(why == null ? null : why.outcome(), why == null ? null : why.reason(),
                spec.timeout(), exitCode, signal, duration, outputTail);
    }

    /**
     * Runs {@code hook} once the child has ended but before its result completes (or at once if it
     * has already ended), so whoever sees the result also sees the launcher's count without it.
     */
    void beforeResult(Runnable hook) {
        boolean already;
        synchronized (endLock) {
            onEnd = hook;
            already = ended;
        }
        if (already) {
            hook.run();
        }
    }

    /** Completes the result with {@code end} after the end hook has run; the first call wins. */
    final boolean finish(ChildResult end) {
        Runnable hook;
        synchronized (endLock) {
            ended = true;
            hook = onEnd;
            if (fenceTask != null) {
                fenceTask.cancel(false);
            }
        }
        if (hook != null) {
            hook.run();
        }
        return result.complete(end);
    }

    private boolean claimEnding(Outcome outcome, String reason) {
        return stillRunning() && ending.compareAndSet(null, new Ending(outcome, reason));
    }
}
