package dev.procq.pool;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts children through the resident spawn helper, {@code procq-spawnd}: one fork and one exec
 * per child, no JVM thread and no {@link Process} per child, and exit codes and signals exactly as
 * wait4 reports them, with each child's CPU time and peak memory.
 *
 * <p>If the helper dies, every child it ran is killed with its process group and reported
 * {@link ChildResult.Outcome#LOST}, and a new helper is started for the next child.
 */
final class SpawnHelperLauncher implements ChildLauncher {

    /** As for the ProcessBuilder backend: output later than this after the exit is cut off. */
    static final Duration OUTPUT_DRAIN_AFTER_EXIT = ProcessBuilderChild.OUTPUT_DRAIN_AFTER_EXIT;
    static final Duration HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /** A helper that cannot be restarted is tried again no sooner than this. */
    static final Duration RESTART_BACKOFF = Duration.ofSeconds(1);
    private static final Duration SHUTDOWN_WAIT = Duration.ofSeconds(5);

    private static final Logger log = LoggerFactory.getLogger(SpawnHelperLauncher.class);

    private final HelperBinary binary;
    private final CgroupTree cgroups;
    private final Path killProgram;
    /** Helpers are started from this one thread: their PR_SET_PDEATHSIG follows it. */
    private final SpawnerThread spawner = new SpawnerThread("procq-spawnd-starter");
    private final ScheduledThreadPoolExecutor timer;
    private final AtomicLong ids = new AtomicLong();
    private final Set<HelperChild> running = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Object helperLock = new Object();
    private HelperConnection helper;
    private long nextStartNanos = System.nanoTime();
    private int failedRestarts;

    private SpawnHelperLauncher(HelperBinary binary, CgroupTree cgroups) {
        this.binary = binary;
        this.cgroups = cgroups;
        this.killProgram = SystemTools.find("kill", "procps");
        timer = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "procq-child-timer");
            thread.setDaemon(true);
            return thread;
        });
        // Most children finish long before their timeout; their cancelled timeouts must not pile
        // up in the queue until they would have fired.
        timer.setRemoveOnCancelPolicy(true);
    }

    /**
     * Extracts and starts the helper.
     *
     * @param cgroups where each child gets a cgroup of its own; null for none
     */
    static SpawnHelperLauncher start(CgroupTree cgroups) throws SpawnHelperUnavailable {
        HelperBinary binary = HelperBinary.extract();
        SpawnHelperLauncher launcher = new SpawnHelperLauncher(binary, cgroups);
        try {
            synchronized (launcher.helperLock) {
                launcher.helper = launcher.startHelper();
            }
        } catch (SpawnHelperUnavailable e) {
            launcher.spawner.stop();
            launcher.timer.shutdown();
            binary.delete();
            throw e;
        }
        return launcher;
    }

    @Override
    public RunningChild start(ChildSpec spec) {
        long startedNanos = System.nanoTime();
        long id = ids.incrementAndGet();
        if (closed.get()) {
            return failed(id, spec, "launcher is closed", startedNanos);
        }
        byte[] frame;
        try {
            // The helper passes bytes as they are: arguments go to the program as UTF-8, whatever
            // the worker's locale.
            Path program = ChildCommand.check(spec, StandardCharsets.UTF_8);
            frame = HelperFrames.spawn(id, spec, program, OUTPUT_DRAIN_AFTER_EXIT.toMillis(), cgroups);
        } catch (CannotSpawn refused) {
            return failed(id, spec, refused.getMessage(), startedNanos);
        }
        HelperConnection connection = liveHelper();
        HelperChild child = new HelperChild(id, spec, connection, timer, startedNanos);
        if (connection == null) {
            child.lost("the spawn helper is not running and could not be restarted");
            return child;
        }
        running.add(child);
        child.beforeResult(() -> running.remove(child));
        if (!connection.register(child)) {
            child.lost("the spawn helper died before the child could start");
            return child;
        }
        try {
            connection.send(frame);
        } catch (IOException gone) {
            // The reader sees the helper's end too, and reports the child lost with the rest.
            log.debug("spawn helper gone while sending a spawn: {}", gone.toString());
        }
        return child;
    }

    @Override
    public CgroupTree cgroups() {
        return cgroups;
    }

    @Override
    public int runningCount() {
        return running.size();
    }

    @Override
    public String description() {
        synchronized (helperLock) {
            if (helper == null) {
                return HelperBinary.NAME + " (not running)";
            }
            HelperConnection.Hello hello = helper.hello();
            boolean subreaper = (hello.features() & HelperFrames.FEATURE_SUBREAPER) != 0;
            return HelperBinary.NAME + " (pid " + hello.pid() + ", protocol " + hello.version()
                    + (subreaper ? ", child subreaper" : "") + ")";
        }
    }

    /** Where the helper's executable was written; for tests. */
    java.nio.file.Path executable() {
        return binary.executable();
    }

    /** The helper's pid, for tests and the log; empty while none runs. */
    java.util.OptionalLong helperPid() {
        synchronized (helperLock) {
            return helper == null || helper.dead() ? java.util.OptionalLong.empty()
                    : java.util.OptionalLong.of(helper.pid());
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<HelperChild> children = List.copyOf(running);
        List<HelperChild> stopping = children.stream()
                .filter(child -> child.claimShutdown("shutdown"))
                .toList();
        if (!stopping.isEmpty()) {
            log.info("stopping {} running child(ren) for shutdown", stopping.size());
        }
        stopping.forEach(HelperChild::signalTermination);
        Duration grace = stopping.stream()
                .map(child -> child.spec().killGrace())
                .max(Comparator.naturalOrder())
                .orElse(Duration.ZERO);
        Duration lastWait = grace.plus(ProcessBuilderLauncher.WAIT_AFTER_KILL)
                .plus(OUTPUT_DRAIN_AFTER_EXIT);
        if (!ProcessBuilderLauncher.awaitResults(children, lastWait)) {
            log.warn("some children did not end after SIGKILL: {}",
                    children.stream().filter(child -> !child.done()).toList());
        }
        HelperConnection last;
        synchronized (helperLock) {
            last = helper;
            helper = null;
        }
        if (last != null) {
            last.shutdown(SHUTDOWN_WAIT);
        }
        spawner.stop();
        timer.shutdown();
        binary.delete();
    }

    @Override
    public boolean ready() {
        synchronized (helperLock) {
            if (helper != null && !helper.dead()) {
                return true;
            }
            // Tries a restart at most once per backoff; in between the caller hears "not now".
            return System.nanoTime() - nextStartNanos >= 0 && !closed.get() && liveHelper() != null;
        }
    }

    /** The running helper, restarting it if it died; null when it cannot be started now. */
    private HelperConnection liveHelper() {
        synchronized (helperLock) {
            if (helper != null && !helper.dead()) {
                return helper;
            }
            long wait = nextStartNanos - System.nanoTime();
            if (wait > 0) {
                // Throttles a caller that starts children regardless of ready().
                try {
                    TimeUnit.NANOSECONDS.sleep(wait);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
            try {
                helper = startHelper();
                log.info("restarted the spawn helper: {}", description());
                failedRestarts = 0;
                return helper;
            } catch (SpawnHelperUnavailable e) {
                nextStartNanos = System.nanoTime() + RESTART_BACKOFF.toNanos();
                // Once per streak: a host that cannot run it would otherwise log every second.
                if (failedRestarts++ == 0) {
                    log.error("cannot restart the spawn helper, trying again every {}: {}",
                            RESTART_BACKOFF, e.getMessage());
                }
                return null;
            }
        }
    }

    private HelperConnection startHelper() throws SpawnHelperUnavailable {
        try {
            return spawner.call(() -> {
                try {
                    return HelperConnection.start(binary.executable(), HANDSHAKE_TIMEOUT,
                            this::helperDied);
                } catch (SpawnHelperUnavailable e) {
                    throw new IllegalStateException(e.getMessage(), e);
                }
            });
        } catch (IllegalStateException e) {
            throw new SpawnHelperUnavailable(e.getMessage(), e);
        }
    }

    /**
     * The helper is gone. Its direct children got SIGKILL from the kernel (PR_SET_PDEATHSIG),
     * but what they started may still run: every group is killed before any child is reported
     * lost, so the job's next attempt never runs beside what is left of this one.
     */
    private void helperDied(HelperConnection dead) {
        List<HelperChild> lost = dead.takeAll();
        String how = dead.exitDescription();
        if (closed.get() && lost.isEmpty()) {
            return;
        }
        List<Long> groups = lost.stream()
                .map(HelperChild::pid)
                .filter(java.util.OptionalLong::isPresent)
                .map(java.util.OptionalLong::getAsLong)
                .toList();
        ProcessGroups.signal(killProgram, Signal.KILL, groups);
        if (!ProcessGroups.awaitGone(groups, Duration.ofSeconds(1))) {
            log.warn("process groups of the lost children still had live members a second after SIGKILL");
        }
        if (cgroups != null) {
            // The helper removes each cgroup once its child is reported; these it never will.
            lost.stream().map(child -> child.spec().cgroup()).filter(java.util.Objects::nonNull)
                    .filter(cgroup -> !cgroups.remove(cgroup, Duration.ofSeconds(1)))
                    .forEach(cgroup -> log.warn("cgroup {} of a lost child could not be removed", cgroup.name()));
        }
        log.error("spawn helper (pid {}) {}; {} running child(ren) lost, their process groups"
                + " killed", dead.pid(), how, lost.size());
        for (HelperChild child : lost) {
            child.lost("the spawn helper died (" + how + ") while the child ran");
        }
        synchronized (helperLock) {
            if (helper == dead) {
                helper = null;
            }
        }
        if (!closed.get()) {
            // Restart at once, so the next claim does not wait for it.
            timer.execute(this::liveHelper);
        }
    }

    private HelperChild failed(long id, ChildSpec spec, String reason, long startedNanos) {
        HelperChild child = new HelperChild(id, spec, null, timer, startedNanos);
        child.spawnFailed(reason);
        return child;
    }
}
