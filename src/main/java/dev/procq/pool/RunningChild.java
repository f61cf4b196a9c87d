package dev.procq.pool;

import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;

/** One started child: its result, and the way to stop it early. */
public interface RunningChild {

    /**
     * The pid of the child, which is also its process group id; empty if it never started. May
     * wait briefly for the spawn to be confirmed.
     */
    OptionalLong pid();

    ChildSpec spec();

    /**
     * Completes exactly once, when the child has exited and its output is drained; never
     * exceptionally. Each call returns a new future, so a caller completing its copy changes
     * nothing for anyone else.
     */
    CompletableFuture<ChildResult> result();

    /**
     * Ends the child early: SIGTERM to its whole process group before this returns, then SIGKILL
     * after the spec's kill grace if anything of it is still there. The result is
     * {@link ChildResult.Outcome#STOPPED} with {@code reason}, unless the child had already ended;
     * then this does nothing.
     *
     * @param reason a few words for the result, e.g. "cancelled", "shutdown", "lease lost"
     * @return the result, as {@link #result()}
     */
    CompletableFuture<ChildResult> stop(String reason);

    /**
     * Ends the child at {@code nanoTime} (on the {@link System#nanoTime} clock) unless a later call
     * moves that moment: SIGTERM to its whole group, SIGKILL after the spec's kill grace. The
     * result is then {@link ChildResult.Outcome#FENCED}. The spawn helper keeps the deadline
     * itself, so it holds while this JVM is stopped or paused; the ProcessBuilder backend can
     * only keep it from this JVM. A child that has already ended is not affected.
     */
    void fenceAt(long nanoTime);
}
