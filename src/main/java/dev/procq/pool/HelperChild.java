package dev.procq.pool;

import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A child started by the spawn helper. It holds no thread and no {@link Process}: the helper
 * reports the spawn and the exit as frames, and a timeout or a stop is a signal frame.
 */
final class HelperChild extends EndableChild {

    private static final Logger log = LoggerFactory.getLogger(HelperChild.class);
    /** How long {@link #pid()} waits for the helper to confirm the spawn. */
    private static final Duration PID_WAIT = Duration.ofSeconds(10);
    private static final long NO_PID = -1;

    private final long id;
    private final HelperConnection helper;
    private final ScheduledExecutorService timer;
    private final long startedNanos;
    private final CompletableFuture<Long> pid = new CompletableFuture<>();
    private volatile ScheduledFuture<?> timeoutTask;

    HelperChild(long id, ChildSpec spec, HelperConnection helper, ScheduledExecutorService timer,
            long startedNanos) {
        super(spec);
        this.id = id;
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
    public String toString() {
        return "HelperChild[id=" + id + ", pid=" + (pid.isDone() ? pid.join() : "pending")
                + ", argv=" + spec.argv() + "]";
    }

    @Override
    ScheduledExecutorService timer() {
        return timer;
    }

    /** The helper keeps the deadline too, so it holds while this JVM is stopped or paused. */
    @Override
    void keepDeadline(long nanoTime) {
        if (helper != null && !result.isDone()) {
            helper.trySend(HelperFrames.deadline(id, helper.hello().helperNanos(nanoTime), killGrace()));
        }
    }

    /** A grace of zero still goes through the helper's deadline, a millisecond on. */
    private Duration killGrace() {
        return spec.killGrace().isZero() ? Duration.ofMillis(1) : spec.killGrace();
    }

    boolean done() {
        return result.isDone();
    }

    /**
     * SIGTERM to the child's whole process group, and SIGKILL to what is left of the group after
     * the spec's kill grace: the helper keeps that deadline, so it holds even for a grandchild
     * that outlives the child.
     */
    @Override
    void signalTermination() {
        if (!result.isDone()) {
            helper.trySend(HelperFrames.signal(id, Signal.TERM, true, killGrace()));
        }
    }

    /**
     * The helper reports the exec. The timeout runs from here, not from the spawn frame: the
     * helper may fork a while after the frame was sent, and a child must get all of its time.
     */
    void spawned(long processId) {
        pid.complete(processId);
        if (spec.timeout() != null && !result.isDone()) {
            timeoutTask = timer.schedule(this::timedOut, spec.timeout().toNanos(),
                    TimeUnit.NANOSECONDS);
        }
    }

    void spawnFailed(String reason) {
        pid.complete(NO_PID);
        end(ChildResult.spawnFailed(reason, Duration.ofNanos(System.nanoTime() - startedNanos)));
    }

    /** The helper died: whatever the child did, its group has been killed and its end is unknown. */
    void lost(String why) {
        pid.complete(NO_PID);
        end(ChildResult.lost(why, Duration.ofNanos(System.nanoTime() - startedNanos), ""));
    }

    void exited(HelperFrames.Exit exit) {
        pid.complete(NO_PID);
        if (exit.outputCut()) {
            log.info("child {} exited but processes it left behind kept its output open;"
                    + " the helper ended its process group", pid.join() == NO_PID ? id : pid.join());
        }
        if (exit.fenced()) {
            fencedOutside();
        }
        Integer signal = exit.signalled() ? exit.codeOrSignal() : null;
        Integer exitCode = exit.signalled() ? null : exit.codeOrSignal();
        String tail = OutputTail.decode(exit.tail(), exit.droppedBytes() > 0);
        ChildResult ended = describe(exitCode, signal, Duration.ofNanos(exit.wallNanos()), tail);
        end(ended.withUsage(exit.usage()));
    }

    private void end(ChildResult ended) {
        ScheduledFuture<?> timeout = timeoutTask;
        if (timeout != null) {
            timeout.cancel(false);
        }
        finish(ended);
    }

    @Override
    boolean stillRunning() {
        // A child that was reported ended keeps its own outcome: a late stop must not rewrite it.
        return !result.isDone();
    }
}
