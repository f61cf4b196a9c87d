package dev.procq.pool;

import java.io.IOException;
import java.nio.charset.Charset;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts children through the JDK's {@link ProcessBuilder}: the fallback for hosts where the spawn
 * helper cannot run ({@code PROCQ_SPAWNER=java}). Each child costs four or five execs (the JDK's
 * jspawnhelper, {@code setsid}, {@code setpriv}, {@code prlimit} when limits are set, the program)
 * and three JVM threads (an output reader, the JDK's reaper and the exit callback), and an exit
 * status above 128 cannot be told from a death by signal.
 *
 * <p>Every child leads its own session and process group, dies with the worker JVM, starts from an
 * empty environment plus exactly what its spec gives, reads /dev/null as stdin and writes stdout
 * and stderr into one pipe of which the last bytes are kept.
 */
final class ProcessBuilderLauncher implements ChildLauncher {

    /** After SIGKILL a process ends at once unless it is stuck inside the kernel. */
    static final Duration WAIT_AFTER_KILL = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(ProcessBuilderLauncher.class);

    private final SystemTools tools;
    private final ScheduledThreadPoolExecutor timer;
    private final SpawnerThread spawner;
    private final Set<ProcessBuilderChild> running = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();

    /**
     * @throws IllegalStateException when setsid, setpriv, prlimit or kill is missing on this host
     */
    ProcessBuilderLauncher() {
        tools = SystemTools.locate();
        timer = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "procq-child-timer");
            thread.setDaemon(true);
            return thread;
        });
        // Most children finish long before their timeout; their cancelled timeouts must not pile
        // up in the queue until they would have fired.
        timer.setRemoveOnCancelPolicy(true);
        spawner = new SpawnerThread("procq-spawner");
    }

    @Override
    public RunningChild start(ChildSpec spec) {
        Objects.requireNonNull(spec, "spec");
        long startedNanos = System.nanoTime();
        if (closed.get()) {
            return ProcessBuilderChild.failed(spec, "launcher is closed", startedNanos);
        }
        ProcessBuilder builder;
        try {
            builder = ChildCommand.prepare(spec, tools, Charset.defaultCharset());
        } catch (CannotSpawn refused) {
            return ProcessBuilderChild.failed(spec, refused.getMessage(), startedNanos);
        }
        ProcessBuilderChild child;
        try {
            child = spawner.call(() -> spawn(spec, builder, startedNanos));
        } catch (IllegalStateException e) {
            return ProcessBuilderChild.failed(spec, e.getMessage(), startedNanos);
        }
        if (child.pid().isPresent() && !child.result().isDone()) {
            try {
                child.watch();
            } catch (RuntimeException | Error e) {
                log.error("cannot watch child {}; killing it", child, e);
                child.abandon(e);
            }
        }
        return child;
    }

    @Override
    public String description() {
        return "ProcessBuilder (setsid, setpriv, prlimit)";
    }

    @Override
    public int runningCount() {
        return running.size();
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            // A barrier: every spawn already under way has registered its child once this returns.
            spawner.call(() -> null);
        } catch (IllegalStateException gone) {
            log.warn("spawner thread unavailable while closing: {}", gone.getMessage());
        }
        List<ProcessBuilderChild> children = List.copyOf(running);
        List<ProcessBuilderChild> stopping = children.stream()
                .filter(child -> child.claimShutdown("shutdown"))
                .toList();
        if (!stopping.isEmpty()) {
            log.info("stopping {} running child(ren) for shutdown", stopping.size());
        }
        // One kill(1) for all groups: shutdown must not spawn one process per child.
        ProcessGroups.signal(tools.kill(), Signal.TERM, groupIds(stopping));
        Duration grace = stopping.stream()
                .map(child -> child.spec().killGrace())
                .max(Comparator.naturalOrder())
                .orElse(Duration.ZERO);
        boolean ended = awaitResults(children, grace);
        if (!stopping.isEmpty()) {
            Set<Long> liveGroups = ProcessGroups.liveGroupIds();
            List<ProcessBuilderChild> stubborn = stopping.stream()
                    .filter(child -> child.groupMayStillRun(liveGroups))
                    .toList();
            ProcessGroups.signal(tools.kill(), Signal.KILL, groupIds(stubborn));
        }
        Duration lastWait = WAIT_AFTER_KILL.plus(ProcessBuilderChild.OUTPUT_DRAIN_AFTER_EXIT);
        if (!ended && !awaitResults(children, lastWait)) {
            log.warn("some children did not end after SIGKILL: {}",
                    children.stream().filter(child -> !child.result().isDone()).toList());
        }
        spawner.stop();
        // Delayed SIGKILLs of groups stopped earlier still run after shutdown().
        timer.shutdown();
    }

    private ProcessBuilderChild spawn(ChildSpec spec, ProcessBuilder builder, long startedNanos) {
        if (closed.get()) {
            return ProcessBuilderChild.failed(spec, "launcher is closed", startedNanos);
        }
        Process process;
        try {
            process = builder.start();
        } catch (IOException | RuntimeException e) {
            return ProcessBuilderChild.failed(spec, "cannot start " + spec.argv().get(0) + ": "
                    + e.getMessage(), startedNanos);
        }
        ProcessBuilderChild child = ProcessBuilderChild.started(spec, process, startedNanos, timer, tools);
        try {
            child.startReadingOutput();
        } catch (RuntimeException | Error e) {
            // Most likely no memory for another thread; this thread must live on regardless.
            log.error("cannot read the output of child {}; killing it", child, e);
            child.abandon(e);
            return child;
        }
        running.add(child);
        child.beforeResult(() -> running.remove(child));
        return child;
    }

    private static List<Long> groupIds(List<ProcessBuilderChild> children) {
        return children.stream().map(child -> child.pid().orElseThrow()).toList();
    }

    /** Waits until every child's result is in, or the timeout passes; true when all are in. */
    static boolean awaitResults(List<? extends RunningChild> children, Duration timeout) {
        CompletableFuture<?>[] results = children.stream()
                .map(RunningChild::result)
                .toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(results).get(timeout.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException("a child result failed", e);
        }
    }
}
