package dev.procq.worker;

import dev.procq.config.ConfigException;
import dev.procq.config.Durations;
import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.pool.ChildLauncher;
import dev.procq.pool.ChildResult;
import dev.procq.pool.ChildSpec;
import dev.procq.pool.ResourceLimits;
import dev.procq.pool.RunningChild;
import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimedJob;
import dev.procq.store.Database;
import dev.procq.store.JobDao;
import dev.procq.store.JobNotifications;
import dev.procq.store.WorkerDao;
import dev.procq.store.Outcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Phase 2: the worker daemon. One claim loop makes one round trip at a time: it writes the
 * results gathered by the {@link Completer} and, in the same statement, claims at most the
 * slots free once they are written (per type and overall); it starts a child for each job
 * claimed and sleeps until a child ends, jobs are announced, or the poll interval passes. A
 * slot is taken from the claim until its result is written, so procq.job never shows a
 * worker with more RUNNING rows than slots. The {@link LeaseKeeper} and {@link Rescuer} run beside it.
 */
public final class Worker implements AutoCloseable {
    /** Bytes of merged stdout/stderr kept per attempt. */
    public static final int OUTPUT_TAIL_BYTES = 8 * 1024;
    /** Between SIGTERM and SIGKILL when procq stops a child (timeout, cancel, shutdown). */
    public static final Duration KILL_GRACE = Duration.ofSeconds(5);
    private static final Logger log = LoggerFactory.getLogger(Worker.class);

    private final Database database;
    private final Jdbi jdbi;
    private final JobTypes types;
    private final Settings settings;
    private final ChildLauncher launcher;
    private final int globalLimit;
    private final Duration lease;
    private final LiveTypes liveTypes;
    private final Wakeup wakeup = new Wakeup();
    private final Map<Long, HeldJob> held = new ConcurrentHashMap<>();
    /** Children alive, per type and in all. */
    private final Map<String, AtomicInteger> childrenByType = new ConcurrentHashMap<>();
    private final AtomicInteger children = new AtomicInteger();
    /** Slots taken, per type and in all: from a job's claim until its result is written (or dropped). */
    private final Map<String, AtomicInteger> slotsByType = new ConcurrentHashMap<>();
    private final AtomicInteger slots = new AtomicInteger();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Map<String, String> passedEnvironment;
    private final WorkerMetrics metrics;

    private volatile boolean stopping;
    /** Every child has ended: the claim loop writes what is left and returns. */
    private volatile boolean finishing;
    /** The database stayed away through shutdown: the claim loop gives up its results. */
    private volatile boolean abandoned;
    private volatile long workerId = -1;
    private volatile String runTag;
    private Completer completer;
    private LeaseKeeper leaseKeeper;
    private Rescuer rescuer;
    private ScheduledExecutorService pruneScheduler;
    private JobListener listener;
    private ScheduledExecutorService scheduler;
    private Thread claimThread;

    public Worker(Database database, JobTypes types, Settings settings, MeterRegistry registry) {
        this.database = database;
        this.jdbi = database.jdbi();
        this.types = types;
        this.settings = settings;
        this.launcher = openLauncher(settings.spawner());
        this.globalLimit = settings.workerConcurrency();
        this.lease = settings.leaseDuration();
        this.liveTypes = new LiveTypes(jdbi, types);
        this.passedEnvironment = System.getenv();
        for (JobType type : types.all()) {
            childrenByType.put(type.name(), new AtomicInteger());
            slotsByType.put(type.name(), new AtomicInteger());
        }
        this.metrics = new WorkerMetrics(registry, children::get, liveTypes);
    }

    private static ChildLauncher openLauncher(String spawner) {
        try {
            ChildLauncher opened = ChildLauncher.open(ChildLauncher.Backend.valueOf(spawner.toUpperCase(Locale.ROOT)));
            log.info("children start through {}", opened.description());
            return opened;
        } catch (IllegalStateException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** Registers this worker (waiting for the database if needed) and starts its threads. */
    public Worker start() throws InterruptedException {
        long registered = registerWhenReachable();
        if (registered < 0) {
            log.info("stop requested before the worker could register; not starting");
            return this;
        }
        workerId = registered;
        quietly("orphan sweep", this::sweepOrphans);
        completer = new Completer(jdbi, workerId, lease);
        leaseKeeper = new LeaseKeeper(jdbi, workerId, lease, held);
        rescuer = Rescuer.forLease(jdbi, lease);
        scheduler = Executors.newScheduledThreadPool(1, runnable -> daemon(runnable, "procq-maintenance"));
        scheduler.scheduleWithFixedDelay(() -> quietly("lease renewal", leaseKeeper::runOnce),
                leaseKeeper.interval().toMillis(), leaseKeeper.interval().toMillis(), TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(() -> quietly("rescue", () -> {
            List<Long> rescued = rescuer.runOnce();
            metrics.leasesExpired(rescued.size());
            if (!rescued.isEmpty()) {
                wakeup.signal();
                // A worker died; if it ran on this host, its children's children may still run.
                sweepOrphans();
            }
        }), 0, Rescuer.INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        scheduler.scheduleWithFixedDelay(() -> quietly("orphan sweep", this::sweepOrphans),
                OrphanSweeper.INTERVAL.toMillis(), OrphanSweeper.INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        settings.retention().ifPresent(this::startPruning);
        scheduler.scheduleWithFixedDelay(() -> quietly("cancel check", leaseKeeper::stopCancelled),
                1, 1, TimeUnit.SECONDS);
        startListening();
        claimThread = new Thread(this::claimLoop, "procq-claimer");
        claimThread.start();
        log.info("worker {} started: types {}, concurrency {}, lease {}", workerId, types.names(), globalLimit, lease);
        return this;
    }

    /**
     * LISTEN, so an idle worker hears of new jobs and cancels at once. Not behind a transaction-mode
     * pooler: LISTEN belongs to one server session, which the pooler gives to other clients between
     * transactions, so notifications would go to them or nowhere. There the claim loop's poll finds
     * new jobs within PROCQ_POLL_INTERVAL and the cancel check finds cancels within a second.
     */
    private void startListening() {
        if (database.pooler().sharesServerSessions()) {
            log.info("no LISTEN behind PROCQ_DATABASE_POOLER={}: looking for jobs every {}", database.pooler().setting(),
                    Durations.format(settings.pollInterval()));
            return;
        }
        listener = new JobListener(database, this::notified);
        daemon(listener, "procq-listener").start();
    }

    /** Retention runs on its own thread: a long prune must never delay lease renewal. */
    private void startPruning(Duration retention) {
        Pruner pruner = new Pruner(jdbi, retention);
        pruneScheduler = Executors.newSingleThreadScheduledExecutor(runnable -> daemon(runnable, "procq-pruner"));
        pruneScheduler.schedule(() -> pruneAndReschedule(pruner), Pruner.FIRST_RUN_DELAY.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void pruneAndReschedule(Pruner pruner) {
        Duration next = Pruner.INTERVAL;
        try {
            next = Pruner.delayAfter(pruner.runOnce());
        } catch (RuntimeException e) {
            log.warn("pruning failed: {}", e.getMessage());
        }
        if (!stopping) pruneScheduler.schedule(() -> pruneAndReschedule(pruner), next.toMillis(), TimeUnit.MILLISECONDS);
    }

    public long id() {
        return workerId;
    }

    public int runningChildren() {
        return children.get();
    }

    private void sweepOrphans() {
        OrphanSweeper.sweep(jdbi, hostName(), workerId);
    }

    /** The worker's id in procq.worker, or -1 when a stop was requested before it could register. */
    private long registerWhenReachable() throws InterruptedException {
        String host = hostName();
        boolean warned = false;
        while (!stopping) {
            try {
                return jdbi.inTransaction(handle -> {
                    WorkerDao dao = handle.attach(WorkerDao.class);
                    long id = dao.register(host, ProcessHandle.current().pid(), globalLimit,
                            types.names().toArray(String[]::new));
                    runTag = dao.runTag(id);
                    return id;
                });
            } catch (RuntimeException e) {
                if (!warned) {
                    log.warn("cannot register with the database yet ({}); retrying", e.getMessage());
                    warned = true;
                }
                Thread.sleep(1000);
            }
        }
        return -1;
    }

    private void claimLoop() {
        boolean warned = false;
        int failures = 0;
        while (!abandoned && !(finishing && !completer.hasResults())) {
            try {
                if (!stopping) liveTypes.refreshIfDue();
                round();
                if (warned) log.info("database reachable again; claiming");
                warned = false;
                failures = 0;
                if (!completer.hasResults()) wakeup.await(settings.pollInterval());
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (!warned) {
                    log.warn("claiming failed, retrying every {} at most: {}", settings.pollInterval(), e.getMessage());
                    warned = true;
                }
                try {
                    wakeup.await(retryDelay(failures++));
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    /** Quick retries first, so results held through a short outage are written soon after it; then the poll interval. */
    private Duration retryDelay(int failures) {
        Duration backoff = Duration.ofMillis(100L << Math.min(failures, 6));
        return backoff.compareTo(settings.pollInterval()) < 0 ? backoff : settings.pollInterval();
    }

    /**
     * One round trip: the results that ended (after lingering for more), and the claim of at
     * most the slots free once they are written. While stopping it only writes.
     */
    private void round() throws InterruptedException {
        List<Completer.Ended> results = completer.gather(!stopping, this::aTypeWaitsOnlyForItsWrite);
        // A launcher whose spawn helper is down and not yet restartable gets no work to lose.
        Claims claims = stopping || !launcher.ready() ? Claims.NONE : freeSlots(results);
        if (results.isEmpty() && claims.none()) return;
        // Whatever woke the loop so far is handled by this round trip; a signal from now on makes another.
        wakeup.clear();
        Completer.Round round = completer.writeAndClaim(results, claims);
        for (Completer.Ended ended : round.results()) {
            // Written or fenced out, the attempt is no longer this worker's to renew. Only that
            // attempt: a later attempt of the same job may be held by now.
            AttemptResult result = ended.result();
            held.computeIfPresent(result.jobId(), (id, entry) -> entry.job.attempt() == result.attempt() ? null : entry);
            releaseSlot(ended.type());
        }
        start(round.claimed());
    }

    /**
     * Free slots per type and overall, counting the slots of {@code writing} as free: the same
     * statement that claims writes them. Types come in the file's order; the first take what the
     * global cap leaves.
     */
    private Claims freeSlots(List<Completer.Ended> writing) {
        Map<String, Integer> freedByType = new HashMap<>();
        for (Completer.Ended ended : writing) freedByType.merge(ended.type(), 1, Integer::sum);
        int total = globalLimit - slots.get() + writing.size();
        List<String> names = new ArrayList<>();
        List<Integer> free = new ArrayList<>();
        for (JobType type : liveTypes.types()) {
            int typeFree = liveTypes.limit(type) - slotsByType.get(type.name()).get()
                    + freedByType.getOrDefault(type.name(), 0);
            typeFree = Math.min(typeFree, total);
            if (typeFree <= 0) continue;
            names.add(type.name());
            free.add(typeFree);
        }
        return Claims.of(names, free, total);
    }

    /**
     * True when some type has slots taken but no child left running: those slots wait for
     * nothing but the write, so lingering for more results would only leave them idle.
     */
    private boolean aTypeWaitsOnlyForItsWrite() {
        for (Map.Entry<String, AtomicInteger> type : slotsByType.entrySet()) {
            if (type.getValue().get() > 0 && childrenByType.get(type.getKey()).get() == 0) return true;
        }
        return false;
    }

    private void start(List<ClaimedJob> claimed) {
        if (claimed.isEmpty()) return;
        Map<String, List<ClaimedJob>> byType = new HashMap<>();
        for (ClaimedJob job : claimed) byType.computeIfAbsent(job.type(), name -> new ArrayList<>()).add(job);
        byType.forEach(metrics::claimed);
        for (ClaimedJob job : claimed) {
            JobType type = types.find(job.type()).orElseThrow();
            HeldJob entry = new HeldJob(job);
            HeldJob stale = held.put(job.id(), entry);
            if (stale != null) {
                // This worker stalled past its lease, the job was rescued and it claimed the job
                // again before its lease keeper noticed: the old attempt's child must not run on.
                log.warn("claimed job {} again as attempt {} while attempt {} still ran here; stopping that one",
                        job.id(), job.attempt(), stale.job.attempt());
                stale.stop(HeldJob.StopCause.LEASE_LOST, "lease lost");
            }
            // Claimed while shutdown began: handed back at once, not started.
            if (stopping) entry.stop(HeldJob.StopCause.SHUTDOWN, "shutdown");
            slots.incrementAndGet();
            slotsByType.get(type.name()).incrementAndGet();
            children.incrementAndGet();
            childrenByType.get(type.name()).incrementAndGet();
            launch(entry, type);
        }
    }

    private void releaseSlot(String type) {
        slots.decrementAndGet();
        slotsByType.get(type).decrementAndGet();
    }

    private void launch(HeldJob entry, JobType type) {
        ClaimedJob job = entry.job;
        if (entry.stopCause == HeldJob.StopCause.SHUTDOWN) {
            finished(entry, type, null, Verdict.handedBack(job));
            return;
        }
        List<String> argv;
        try {
            argv = CommandTemplate.expand(type.command(), job.target(), job.meta());
        } catch (IllegalArgumentException e) {
            finished(entry, type, null, Verdict.unrunnable(job, e.getMessage()));
            return;
        }
        ChildSpec spec = new ChildSpec(argv, environment(type, job), type.workingDirectory(), type.timeout(),
                KILL_GRACE, OUTPUT_TAIL_BYTES, limits(type.limits()));
        RunningChild child = launcher.start(spec);
        entry.child = child;
        if (entry.stopCause != null) child.stop("stopped before it started");
        child.result().whenComplete((result, error) -> {
            if (error != null) {
                log.error("child of job {} ended without a result", job.id(), error);
                finished(entry, type, null, Verdict.unrunnable(job, "internal error: " + error));
            } else {
                finished(entry, type, result, null);
            }
        });
    }

    /** A child ended (or never started): its slot stays taken until the claim loop writes the result. */
    private void finished(HeldJob entry, JobType type, ChildResult result, AttemptResult forced) {
        entry.ended = true;
        children.decrementAndGet();
        childrenByType.get(type.name()).decrementAndGet();
        if (entry.stopCause == HeldJob.StopCause.LEASE_LOST) {
            // Someone else owns this job now (maybe a later attempt here); a write would be fenced
            // out anyway, and no RUNNING row of this attempt is left to stand for the slot.
            held.remove(entry.job.id(), entry);
            releaseSlot(type.name());
            wakeup.signal();
            return;
        }
        AttemptResult verdict = forced != null ? forced : Verdict.of(entry.job, type, result, entry.stopCause);
        metrics.finished(type.name(), entry.job, verdict);
        completer.add(type.name(), verdict);
        wakeup.signal();
    }

    private void notified(String payload) {
        if (payload.startsWith(JobNotifications.CANCEL_PREFIX)) {
            scheduler.execute(() -> quietly("cancel check", leaseKeeper::stopCancelled));
        } else if (payload.isEmpty() || types.find(payload).isPresent()) {
            wakeup.signal();
        }
    }

    private Map<String, String> environment(JobType type, ClaimedJob job) {
        Map<String, String> env = new HashMap<>();
        for (String name : type.passEnv()) {
            String value = passedEnvironment.get(name);
            if (value != null) env.put(name, value);
        }
        env.putAll(type.env());
        env.put("PROCQ_JOB_ID", Long.toString(job.id()));
        env.put("PROCQ_BATCH_ID", Long.toString(job.batchId()));
        env.put("PROCQ_ATTEMPT", Integer.toString(job.attempt()));
        // Marks every process of this worker run, so a restarted worker can find and end orphans.
        // No bare PROCQ_WORKER_ID: ids repeat across databases, and a sweep matching on one
        // (as earlier versions did) would take this child for another installation's orphan.
        env.put(OrphanSweeper.MARKER, runTag);
        return env;
    }

    private static ResourceLimits limits(JobType.Limits limits) {
        return new ResourceLimits(limits.cpuSeconds(), limits.memoryBytes(), limits.openFiles(), limits.processes());
    }

    /**
     * Graceful stop: claim nothing more, let running children finish within {@code grace},
     * then stop the rest and hand their jobs back as PENDING without counting the attempt.
     */
    public void shutdown(Duration grace) throws InterruptedException {
        if (workerId < 0) return;
        beginStopping();
        long deadline = System.nanoTime() + grace.toNanos();
        while (children.get() > 0 && System.nanoTime() < deadline && !hurry) {
            Thread.sleep(50);
        }
        finishStopping();
    }

    private volatile boolean hurry;

    /**
     * The first SIGTERM: claim nothing more from now on. Safe to call from a signal handler,
     * and before {@link #start()} has returned (a worker still waiting for the database gives up).
     */
    public void requestStop() {
        beginStopping();
    }

    /** A second SIGTERM: skip what is left of the grace period. */
    public void hurry() {
        hurry = true;
    }

    private void beginStopping() {
        if (stopping) return;
        stopping = true;
        wakeup.signal();
        if (workerId < 0) return;
        log.info("worker {} stopping: claiming nothing more, {} children running", workerId, children.get());
    }

    private void finishStopping() throws InterruptedException {
        if (stopped.getCount() == 0) return;
        // The claim loop claims nothing more (stopping) but keeps writing results as children end.
        // A job its last round trip claimed after this snapshot is stopped by start() itself.
        List<HeldJob> remaining = new ArrayList<>(held.values());
        for (HeldJob entry : remaining) entry.stop(HeldJob.StopCause.SHUTDOWN, "shutdown");
        long deadline = System.nanoTime() + KILL_GRACE.plusSeconds(5).toNanos();
        while (children.get() > 0 && System.nanoTime() < deadline) Thread.sleep(20);
        finishing = true;
        wakeup.signal();
        if (claimThread != null) {
            // With PostgreSQL away, the results still held get 10 s more; then the worker exits anyway.
            claimThread.join(10_000);
            if (claimThread.isAlive()) {
                abandoned = true;
                claimThread.interrupt();
                log.warn("{} results could not be written; their jobs will run again once their leases expire",
                        completer.backlog());
            }
        }
        try {
            int released = jdbi.withExtension(JobDao.class, dao -> dao.releaseAllHeldBy(workerId));
            if (released > 0) log.info("handed back {} jobs as PENDING", released);
            jdbi.useExtension(WorkerDao.class, dao -> dao.markStopped(workerId));
        } catch (RuntimeException e) {
            log.warn("could not hand back jobs ({}); their leases will expire and they will run again", e.getMessage());
        }
        if (listener != null) listener.stop();
        scheduler.shutdownNow();
        if (pruneScheduler != null) pruneScheduler.shutdownNow();
        launcher.close();
        stopped.countDown();
        log.info("worker {} stopped", workerId);
    }

    public boolean awaitStopped(Duration timeout) throws InterruptedException {
        return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        try {
            shutdown(Duration.ZERO);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void quietly(String what, Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            log.warn("{} failed: {}", what, e.getMessage());
        }
    }

    private static Thread daemon(Runnable runnable, String name) {
        Thread thread = new Thread(runnable, name);
        thread.setDaemon(true);
        return thread;
    }

    private static String hostName() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "unknown";
        }
    }

    /**
     * The worker's own meters: claims, attempts by outcome (SPAWN_FAILED among them), run time,
     * queue wait, lease expiries found by its rescuer, and each type's live limits as it sees them.
     */
    static final class WorkerMetrics {
        /** Outcomes a worker writes itself; LEASE_EXPIRED is counted by procq_worker_lease_expiries. */
        private static final List<Outcome> WORKER_OUTCOMES = List.of(Outcome.OK, Outcome.FAILED, Outcome.TIMEOUT,
                Outcome.SPAWN_FAILED, Outcome.STOPPED, Outcome.LOST);
        private final MeterRegistry registry;
        private final Counter leaseExpiries;

        WorkerMetrics(MeterRegistry registry, java.util.function.IntSupplier running, LiveTypes liveTypes) {
            this.registry = registry;
            Gauge.builder("procq_worker_running_children", running, r -> r.getAsInt())
                    .description("children this worker is running now").strongReference(true).register(registry);
            leaseExpiries = Counter.builder("procq_worker_lease_expiries")
                    .description("RUNNING jobs whose lease ran out (their worker died or stalled), found by this worker's rescuer")
                    .register(registry);
            for (JobType type : liveTypes.types()) {
                String name = type.name();
                Gauge.builder("procq_worker_type_concurrency", liveTypes, live -> live.concurrency(name)).tag("type", name)
                        .description("the type's concurrency per worker as this worker reads it from procq.job_type")
                        .strongReference(true).register(registry);
                Gauge.builder("procq_worker_type_paused", liveTypes, live -> live.paused(name) ? 1 : 0).tag("type", name)
                        .description("1 while procq.job_type says the type is paused, as this worker last read it")
                        .strongReference(true).register(registry);
                // Present at zero from the start, so rate() and alerts work before the first failure.
                claims(name);
                for (Outcome outcome : WORKER_OUTCOMES) attempts(name, outcome);
            }
        }

        void claimed(String type, List<ClaimedJob> jobs) {
            claims(type).increment(jobs.size());
            Timer queueWait = Timer.builder("procq_worker_queue_wait").tag("type", type)
                    .description("from a job's creation to its claim").publishPercentileHistogram().register(registry);
            for (ClaimedJob job : jobs) {
                Duration waited = Duration.between(job.createdAt(), job.startedAt());
                if (!waited.isNegative()) queueWait.record(waited);
            }
        }

        void finished(String type, ClaimedJob job, AttemptResult result) {
            attempts(type, result.outcome()).increment();
            Timer.builder("procq_worker_run_time").tag("type", type).description("how long each child ran")
                    .publishPercentileHistogram().register(registry).record(result.duration());
        }

        void leasesExpired(int jobs) {
            if (jobs > 0) leaseExpiries.increment(jobs);
        }

        private Counter claims(String type) {
            return Counter.builder("procq_worker_claimed_jobs").tag("type", type)
                    .description("jobs this worker claimed").register(registry);
        }

        private Counter attempts(String type, Outcome outcome) {
            return Counter.builder("procq_worker_attempts").tag("type", type).tag("outcome", outcome.name())
                    .description("attempts this worker finished, by outcome: OK, FAILED (exit code or signal), TIMEOUT, "
                            + "SPAWN_FAILED (program could not start), STOPPED (cancel or shutdown), LOST (spawn helper died)")
                    .register(registry);
        }
    }
}
