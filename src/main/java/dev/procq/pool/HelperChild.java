package dev.procq.pool;

import dev.procq.pool.ChildResult.Outcome;
import java.time.Duration;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A child started by the spawn helper. It holds no thread and no {@link Process}: the helper
 * reports the spawn and the exit as frames, and a timeout or a stop is a signal frame.
 */
final class HelperChild implements RunningChild {

    private static final Logger log = LoggerFactory.getLogger(HelperChild.class);
    /** How long {@link #pid()} waits for the helper to confirm the spawn. */
    private static final Duration PID_WAIT = Duration.ofSeconds(10);
    private static final long NO_PID = -1;

    private final long id;
    private final ChildSpec spec;
    private final HelperConnection helper;
    private final ScheduledExecutorService timer;
    private final long startedNanos;
    private final CompletableFuture<Long> pid = new CompletableFuture<>();
    private final CompletableFuture<ChildResult> result = new CompletableFuture<>();
    /** Why we ended the child, when we did: the first of timeout and stop wins. */
    private final AtomicReference<Ending> ending = new AtomicReference<>();
    private final AtomicBoolean terminationStarted = new AtomicBoolean();
    private volatile ScheduledFuture<?> timeoutTask;

    private record Ending(Outcome outcome, String reason) {
    }

    HelperChild(long id, ChildSpec spec, HelperConnection helper, ScheduledExecutorService timer,
            long startedNanos) {
        this.id = id;
        this.spec = spec;
        this.helper = helper;
        this.timer = timer;
        this.startedNanos = startedNanos;
    }

    long id() {
        return id;
    }

    @Override
    public OptionalLong pid() {
        try {
            long known = pid.get(PID_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            return known == NO_PID ? OptionalLong.empty() : OptionalLong.of(known);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalLong.empty();
        } catch (ExecutionException | TimeoutException e) {
            return OptionalLong.empty();
        }
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
        if (claimEnding(new Ending(Outcome.STOPPED, reason))) {
            terminateGroup();
        }
        return result();
    }

    @Override
    public String toString() {
        return "HelperChild[id=" + id + ", pid=" + (pid.isDone() ? pid.join() : "pending")
                + ", argv=" + spec.argv() + "]";
    }

    /** Starts the timeout clock; called once the spawn frame is on its way. */
    void watch() {
        if (spec.timeout() != null) {
            timeoutTask = timer.schedule(this::timedOut, spec.timeout().toNanos(),
                    TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Marks the child as ended for shutdown without signalling it, for a caller that signals
     * many at once. False when the child had already ended or was being ended.
     */
    boolean claimShutdown(String reason) {
        return claimEnding(new Ending(Outcome.STOPPED, reason))
                && terminationStarted.compareAndSet(false, true);
    }

    boolean done() {
        return result.isDone();
    }

    /**
     * SIGTERM to the child's whole process group, and SIGKILL to what is left of the group after
     * the spec's kill grace: the helper keeps that deadline, so it holds even for a grandchild
     * that outlives the child.
     */
    void terminateGroupNow() {
        if (!result.isDone()) {
            // A grace of zero still goes through the helper's deadline, a millisecond on.
            Duration grace = spec.killGrace().isZero() ? Duration.ofMillis(1) : spec.killGrace();
            helper.trySend(HelperFrames.signal(id, Signal.TERM, true, grace));
        }
    }

    void spawned(long processId) {
        pid.complete(processId);
    }

    void spawnFailed(String reason) {
        pid.complete(NO_PID);
        finish(ChildResult.spawnFailed(reason, Duration.ofNanos(System.nanoTime() - startedNanos)));
    }

    /** The helper died: whatever the child did, its group has been killed and its end is unknown. */
    void lost(String why) {
        pid.complete(NO_PID);
        finish(ChildResult.lost(why, Duration.ofNanos(System.nanoTime() - startedNanos), ""));
    }

    void exited(HelperFrames.Exit exit) {
        pid.complete(NO_PID);
        if (exit.outputCut()) {
            log.info("child {} exited but processes it left behind kept its output open;"
                    + " the helper ended its process group", pid.join() == NO_PID ? id : pid.join());
        }
        Integer signal = exit.signalled() ? exit.codeOrSignal() : null;
        Integer exitCode = exit.signalled() ? null : exit.codeOrSignal();
        String tail = OutputTail.decode(exit.tail(), exit.droppedBytes() > 0);
        Ending why = ending.get();
        ChildResult ended = ChildResult.ended(why == null ? null : why.outcome(),
                why == null ? null : why.reason(), spec.timeout(), exitCode, signal,
                Duration.ofNanos(exit.wallNanos()), tail);
        finish(ended.withUsage(
                new ResourceUsage(exit.userMicros(), exit.systemMicros(), exit.maxRssKb())));
    }

    private void finish(ChildResult ended) {
        ScheduledFuture<?> timeout = timeoutTask;
        if (timeout != null) {
            timeout.cancel(false);
        }
        result.complete(ended);
    }

    private boolean claimEnding(Ending why) {
        // A child that was reported ended keeps its own outcome: a late stop must not rewrite it.
        return !result.isDone() && ending.compareAndSet(null, why);
    }

    private void timedOut() {
        if (claimEnding(new Ending(Outcome.TIMED_OUT, null))) {
            terminateGroup();
        }
    }

    private void terminateGroup() {
        if (terminationStarted.compareAndSet(false, true)) {
            terminateGroupNow();
        }
    }
}
