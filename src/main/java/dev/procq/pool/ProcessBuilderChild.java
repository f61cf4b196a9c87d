package dev.procq.pool;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A child started by {@link ProcessBuilderLauncher}.
 *
 * <p>The child is watched without a thread parked per child where Java allows it: exit comes from
 * {@link Process#onExit()}, timeouts and kill graces from the launcher's one timer thread. Output
 * needs one small reader thread per child, since Java 17 has no selectable process pipes.
 */
final class ProcessBuilderChild extends EndableChild {

    /**
     * How long output may still arrive after the direct child exited. Output later than that comes
     * from processes the child left behind holding the pipe; waiting for them could take forever.
     */
    static final Duration OUTPUT_DRAIN_AFTER_EXIT = Duration.ofMillis(500);
    private static final int READ_CHUNK_BYTES = 8 * 1024;
    /** The reader only loops over read(); a small stack lets hundreds of children run cheaply. */
    private static final long OUTPUT_READER_STACK_BYTES = 256 * 1024;

    private static final Logger log = LoggerFactory.getLogger(ProcessBuilderChild.class);

    /** {@code null} when the child never started. */
    private final Process process;
    private final long startedNanos;
    private final ScheduledExecutorService timer;
    private final SystemTools tools;
    private final OutputTail output;
    private final CompletableFuture<Void> outputClosed = new CompletableFuture<>();
    private volatile ScheduledFuture<?> timeoutTask;
    private volatile ScheduledFuture<?> drainTask;
    private volatile long exitedNanos;

    private ProcessBuilderChild(ChildSpec spec, Process process, long startedNanos,
            ScheduledExecutorService timer, SystemTools tools) {
        super(spec);
        this.process = process;
        this.startedNanos = startedNanos;
        this.timer = timer;
        this.tools = tools;
        this.output = new OutputTail(spec.tailBytes());
    }

    static ProcessBuilderChild started(ChildSpec spec, Process process, long startedNanos,
            ScheduledExecutorService timer, SystemTools tools) {
        return new ProcessBuilderChild(spec, process, startedNanos, timer, tools);
    }

    @Override
    ScheduledExecutorService timer() {
        return timer;
    }

    static ProcessBuilderChild failed(ChildSpec spec, String error, long startedNanos) {
        ProcessBuilderChild child = new ProcessBuilderChild(spec, null, startedNanos, null, null);
        child.finish(
                ChildResult.spawnFailed(error, Duration.ofNanos(System.nanoTime() - startedNanos)));
        return child;
    }

    @Override
    public OptionalLong pid() {
        return process == null ? OptionalLong.empty() : OptionalLong.of(process.pid());
    }

    @Override
    public String toString() {
        return "ProcessBuilderChild[pid=" + (process == null ? "none" : process.pid()) + ", argv="
                + spec.argv() + "]";
    }

    /**
     * Starts the output reader. Called at once after the spawn, on the spawning thread: the reader
     * must take the stream's lock before the child can exit (see {@link #readOutput()}), and the
     * child still has to exec through setsid and setpriv first.
     */
    void startReadingOutput() {
        Thread reader = new Thread(null, this::readOutput, "procq-output-" + process.pid(),
                OUTPUT_READER_STACK_BYTES);
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts watching for the timeout and the exit. Called once, after the reader started. */
    void watch() {
        if (spec.timeout() != null) {
            timeoutTask = timer.schedule(this::timedOut, spec.timeout().toNanos(),
                    TimeUnit.NANOSECONDS);
        }
        process.onExit().whenComplete((exited, error) -> exited());
    }

    /**
     * Ends a child that could not be watched (no thread for its output, say): better no child
     * than one whose pipe fills up with nobody reading it.
     */
    void abandon(Throwable why) {
        ProcessGroups.signal(tools.kill(), Signal.KILL, List.of(process.pid()));
        process.destroyForcibly();
        finish(ChildResult.spawnFailed("cannot watch the child: " + why,
                Duration.ofNanos(System.nanoTime() - startedNanos)));
    }

    /** Whether anything of the child's tree may still be running, given the live groups now. */
    boolean groupMayStillRun(Set<Long> liveGroupIds) {
        return process != null && (process.isAlive() || !outputClosed.isDone()
                || liveGroupIds.contains(process.pid()));
    }

    @Override
    boolean stillRunning() {
        // A child that exited by itself keeps its own outcome: a late stop must not rewrite it.
        return process != null && process.isAlive();
    }

    /** SIGTERM to the whole group now, SIGKILL after the grace if any of it is left. */
    @Override
    void signalTermination() {
        ProcessGroups.signal(tools.kill(), Signal.TERM, List.of(process.pid()));
        timer.schedule(this::killGroupIfStillThere, spec.killGrace().toNanos(),
                TimeUnit.NANOSECONDS);
    }

    private void killGroupIfStillThere() {
        // Once the child is gone and its pipe closed, the /proc scan settles whether grandchildren
        // are left; it also keeps a long-dead group's id, free for reuse, from being signalled.
        boolean surelyThere = process.isAlive() || !outputClosed.isDone();
        if (surelyThere || ProcessGroups.liveGroupIds().contains(process.pid())) {
            ProcessGroups.signal(tools.kill(), Signal.KILL, List.of(process.pid()));
        }
    }

    private void readOutput() {
        InputStream stream = process.getInputStream();
        byte[] chunk = new byte[READ_CHUNK_BYTES];
        try {
            // Holding the stream's lock for the whole read keeps the JDK's process reaper from
            // draining the pipe itself when the direct child exits (ProcessPipeInputStream
            // .processExited): it would copy everything a grandchild still writes into one array
            // that grows until the group is ended. A child that exits before this thread gets
            // here still meets that drain; the JDK hands us what it drained afterwards.
            synchronized (stream) {
                int count;
                while ((count = stream.read(chunk)) != -1) {
                    output.append(chunk, 0, count);
                }
                stream.close();
            }
        } catch (IOException e) {
            log.debug("output of child {} ended with {}", process.pid(), e.toString());
        } finally {
            outputClosed.complete(null);
        }
    }

    private void exited() {
        exitedNanos = System.nanoTime();
        ScheduledFuture<?> timeout = timeoutTask;
        if (timeout != null) {
            timeout.cancel(false);
        }
        if (!outputClosed.isDone()) {
            drainTask = timer.schedule(this::outputStillOpen, OUTPUT_DRAIN_AFTER_EXIT.toNanos(),
                    TimeUnit.NANOSECONDS);
        }
        outputClosed.thenRun(this::finish);
    }

    private void outputStillOpen() {
        if (result.isDone()) {
            return;
        }
        log.info("child {} exited but processes it left behind keep its output open;"
                + " ending its process group and finishing without them", process.pid());
        terminateGroup();
        finish();
    }

    private void finish() {
        if (result.isDone()) {
            return;
        }
        ScheduledFuture<?> drain = drainTask;
        if (drain != null) {
            drain.cancel(false);
        }
        finish(describeEnd());
    }

    private ChildResult describeEnd() {
        int status = process.exitValue();
        // Java reports death by signal N as exit status 128 + N, as shells do; a program that
        // exits with such a code by itself cannot be told apart.
        boolean signalled = status > 128 && status <= 128 + Signal.HIGHEST_NUMBER;
        Integer signal = signalled ? status - 128 : null;
        Integer exitCode = signalled ? null : status;
        Duration duration = Duration.ofNanos(exitedNanos - startedNanos);
        String tail = output.text();
        return describe(exitCode, signal, duration, tail);
    }
}
