package dev.procq.worker;

import dev.procq.config.ConfigException;
import dev.procq.config.Durations;
import dev.procq.config.HostLimits;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.pool.CgroupTree;
import dev.procq.pool.ChildLauncher;
import dev.procq.store.BatchDao;
import dev.procq.store.Database;
import dev.procq.store.JobDao;
import dev.procq.store.JobNotifications;
import dev.procq.store.WorkerDao;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Phase 2: the worker daemon, as wiring. Its parts, each on a thread of its own:
 * <ul>
 *   <li>the {@link ClaimLoop}, running one {@link ClaimRound} after another: results written and
 *       jobs claimed in one round trip, a child started per job through the {@link ChildStarter};</li>
 *   <li>the {@link LeaseKeeper}: renews every lease on its own connection, and moves each child's
 *       deadline with it, so a worker cut off from the database ends its children in time;</li>
 *   <li>{@link Maintenance}: the rescuer, the orphan sweep, the cancel check, the {@link RatePruner} and the fold
 *       of batch counter changes (procq.batch_delta); the pruner has its own, since one prune may take long;</li>
 *   <li>the {@link JobListener}, whose notifications wake the claim loop.</li>
 * </ul>
 * Its {@link Lifecycle} says what it is doing: starting, running, stopping, finishing, stopped.
 */
public final class Worker implements AutoCloseable {
    /** Bytes of merged stdout/stderr kept per attempt. */
    public static final int OUTPUT_TAIL_BYTES = ChildStarter.OUTPUT_TAIL_BYTES;
    private static final Logger log = LoggerFactory.getLogger(Worker.class);
    /** The release this worker is, from the jar's manifest (recorded in procq.worker.version); null when run from classes. */
    private static final String RELEASE = Worker.class.getPackage().getImplementationVersion();
    /**
     * How often the counter changes that claims and results left in procq.batch_delta (their
     * batch's row was held by another transaction) are folded into procq.batch when no statement
     * on that batch has folded them first: the most a batch's counters, and its end, lag.
     */
    static final Duration COUNT_FOLD_INTERVAL = Duration.ofSeconds(1);

    private final Database database;
    private final Jdbi jdbi;
    private final JobTypes types;
    private final ChildUsers users;
    private final Settings settings;
    private final LeaseTerms terms;
    private final ChildLauncher launcher;
    private final int globalLimit;
    private final LiveTypes liveTypes;
    private final Slots slots;
    private final Wakeup wakeup = new Wakeup();
    private final Map<Long, HeldJob> held = new ConcurrentHashMap<>();
    private final Lifecycle lifecycle = new Lifecycle();
    private final WorkerMetrics metrics;
    private final Integer metricsPort;

    private volatile boolean hurry;
    private volatile long workerId = -1;
    private Completer completer;
    private LeaseKeeper leaseKeeper;
    private Maintenance maintenance;
    private Maintenance pruning;
    private final HostGate hostGate;
    private Maintenance hostSampling;
    private CancelWatcher cancelWatcher;
    private JobListener listener;
    private Thread claimThread;

    public Worker(Database database, JobTypes types, Settings settings, MeterRegistry registry) {
        this(database, types, settings, registry, null);
    }

    /**
     * {@code metricsPort} is where this process serves the worker's /metrics (null: nowhere); it is
     * recorded with the worker's procq.worker row, since it need not be the configured one.
     */
    public Worker(Database database, JobTypes types, Settings settings, MeterRegistry registry, Integer metricsPort) {
        this.database = database;
        this.metricsPort = metricsPort;
        this.jdbi = database.jdbi();
        this.types = types;
        this.settings = settings;
        this.terms = LeaseTerms.of(settings);
        ChildStarter.requireSandboxes(types.all());
        // Before the launcher: a type that cannot run as its user stops start-up, and no helper is left behind.
        this.users = ChildUsers.resolve(types);
        if (users.any()) log.info("children of these job types run as another user: {}", users);
        this.launcher = openLauncher(settings.spawner(), openCgroups(settings));
        ChildStarter.reportCgroupLimits(types.all(), launcher.cgroups());
        this.globalLimit = settings.workerConcurrency(types);
        this.liveTypes = new LiveTypes(jdbi, types);
        this.slots = new Slots(types);
        this.metrics = new WorkerMetrics(registry, slots::children, slots::taken, liveTypes);
        // Here, so that a pressure ceiling on a kernel without PSI stops start-up (exit 2).
        this.hostGate = settings.hostLimits().any() ? new HostGate(settings.hostLimits(), held, wakeup, metrics) : null;
    }

    /**
     * The cgroup subtree children run in, or null; either way one line says what it is, or why
     * there is none (the children then run in process groups with rlimits, as without cgroups).
     */
    private static CgroupTree openCgroups(Settings settings) {
        String fallback = "; children run in process groups with rlimits";
        if (settings.spawner().equals("java")) {
            log.info("no cgroups for children: PROCQ_SPAWNER=java, and only the spawn helper places a child in its"
                    + " cgroup before it runs{}", fallback);
            return null;
        }
        try {
            CgroupTree tree = CgroupTree.open(settings.cgroupRoot());
            log.info("cgroups: {}", tree.describe());
            return tree;
        } catch (CgroupTree.Unavailable e) {
            if (settings.cgroupRoot().equals(CgroupTree.OFF)) {
                log.info("no cgroups for children: {}{}", e.getMessage(), fallback);
            } else if (settings.cgroupRoot().equals(CgroupTree.AUTO)) {
                // Most hosts delegate no subtree: that is how procq runs there, not a fault.
                log.info("no writable cgroup v2 subtree for children: {}{}", e.getMessage(), fallback);
            } else {
                // The operator named a subtree that cannot be used.
                log.warn("no writable cgroup v2 subtree for children: {}{}", e.getMessage(), fallback);
            }
            return null;
        }
    }

    private static ChildLauncher openLauncher(String spawner, CgroupTree cgroups) {
        try {
            ChildLauncher opened = ChildLauncher.open(ChildLauncher.Backend.valueOf(spawner.toUpperCase(Locale.ROOT)),
                    cgroups);
            log.info("children start through {}", opened.description());
            if (cgroups != null && opened.cgroups() == null) {
                log.warn("no cgroups for children after all: the spawn helper cannot run, and only it places a child"
                        + " in its cgroup before it runs; children run in process groups with rlimits");
            }
            return opened;
        } catch (IllegalStateException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** Registers this worker (waiting for the database if needed) and starts its threads. */
    public Worker start() throws InterruptedException {
        Registration registered = registerWhenReachable();
        if (registered == null) {
            log.info("stop requested before the worker could register; not starting");
            return this;
        }
        workerId = registered.id();
        String host = hostName();
        Runnable sweepOrphans = () -> OrphanSweeper.sweep(jdbi, host, workerId);
        quietly("orphan sweep", sweepOrphans);

        // Renewal gets a connection of its own, bounded by its own interval: nothing else can make it wait.
        leaseKeeper = new LeaseKeeper(database.singleConnection("lease", database.timeouts().atMost(terms.window())),
                workerId, terms, held, metrics, this::hostHold).start();

        Rescuer rescuer = Rescuer.forLease(jdbi, terms.lease());
        cancelWatcher = new CancelWatcher(jdbi, workerId, held);
        maintenance = new Maintenance("procq-maintenance")
                .schedule(Maintenance.task("rescue", () -> {
                    List<Long> rescued = rescuer.runOnce();
                    metrics.leasesExpired(rescued.size());
                    if (!rescued.isEmpty()) {
                        wakeup.signal();
                        // A worker died; if it ran on this host, its children's children may still run.
                        sweepOrphans.run();
                    }
                    return Rescuer.INTERVAL;
                }), Duration.ZERO, Rescuer.INTERVAL)
                .schedule(Maintenance.task("orphan sweep", () -> {
                    sweepOrphans.run();
                    return OrphanSweeper.INTERVAL;
                }), OrphanSweeper.INTERVAL, OrphanSweeper.INTERVAL)
                .schedule(cancelWatcher, CancelWatcher.INTERVAL, CancelWatcher.INTERVAL)
                .schedule(Maintenance.task("rate pruning", new RatePruner(jdbi)::runOnce),
                        RatePruner.FIRST_RUN_DELAY, RatePruner.INTERVAL)
                .schedule(Maintenance.task("batch count folding", () -> {
                    metrics.countDeltasFolded(jdbi.withExtension(BatchDao.class, BatchDao::foldCountDeltas));
                    return COUNT_FOLD_INTERVAL;
                }), COUNT_FOLD_INTERVAL, Rescuer.INTERVAL);
        settings.retention().ifPresent(retention -> {
            Pruner pruner = new Pruner(jdbi, retention);
            pruning = new Maintenance("procq-pruner").schedule(
                    Maintenance.task("pruning", () -> Pruner.delayAfter(pruner.runOnce())),
                    Pruner.FIRST_RUN_DELAY, Pruner.INTERVAL);
        });

        completer = new Completer(jdbi, workerId, terms.lease());
        ChildStarter starter = new ChildStarter(launcher, terms.killGrace(), System.getenv(), registered.runTag(), users,
                settings.secretFiles());
        startSamplingTheHost();
        ClaimRound round = new ClaimRound(types, liveTypes, launcher, starter, completer, slots, globalLimit, held,
                terms, wakeup, lifecycle, metrics, hostGate);
        ClaimLoop claimLoop = new ClaimLoop(round, completer, liveTypes, wakeup, lifecycle, settings.pollInterval());
        startListening();
        lifecycle.advance(Lifecycle.State.RUNNING);
        claimThread = new Thread(claimLoop, "procq-claimer");
        claimThread.start();
        log.info("worker {} started: types {}, concurrency {}, lease {} (renewed every {}; a child whose lease"
                        + " cannot be renewed is ended {} before it runs out)", workerId, types.names(), globalLimit,
                Durations.format(terms.lease()), Durations.format(terms.renewEvery()),
                Durations.format(terms.lease().minus(terms.window())));
        return this;
    }

    /** With host limits set, the gate sampling the host on a thread of its own; else null (nothing held). */
    private void startSamplingTheHost() {
        if (hostGate == null) return;
        // The first sample comes before the first claim, so a worker started on a loaded host starts nothing.
        hostGate.runOnce();
        hostSampling = new Maintenance("procq-host").schedule(hostGate, HostGate.SAMPLE_INTERVAL, HostGate.SAMPLE_INTERVAL);
        log.info("new starts wait while {}", settings.hostLimits().describe());
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

    private String hostHold() {
        HostGate.Reason reason = hostGate == null ? null : hostGate.holding();
        return reason == null ? null : reason.tag();
    }

    public long id() {
        return workerId;
    }

    private record Registration(long id, String runTag) {
    }

    /** The worker's row in procq.worker, or null when a stop was requested before it could register. */
    private Registration registerWhenReachable() throws InterruptedException {
        String host = hostName();
        boolean warned = false;
        while (!lifecycle.stopping()) {
            try {
                return jdbi.inTransaction(handle -> {
                    WorkerDao dao = handle.attach(WorkerDao.class);
                    long id = dao.register(host, ProcessHandle.current().pid(), globalLimit,
                            types.names().toArray(String[]::new), metricsPort, RELEASE);
                    return new Registration(id, dao.runTag(id));
                });
            } catch (RuntimeException e) {
                if (!warned) {
                    log.warn("cannot register with the database yet ({}); retrying", e.getMessage());
                    warned = true;
                }
                Thread.sleep(1000);
            }
        }
        return null;
    }

    private void notified(String payload) {
        if (payload.startsWith(JobNotifications.CANCEL_PREFIX)) {
            maintenance.runSoon(cancelWatcher);
        } else if (payload.isEmpty() || types.find(payload).isPresent()) {
            wakeup.signal();
        }
    }

    /**
     * Graceful stop: claim nothing more, let running children finish within {@code grace},
     * then stop the rest and hand their jobs back as PENDING without counting the attempt.
     */
    public void shutdown(Duration grace) throws InterruptedException {
        if (workerId < 0) return;
        beginStopping();
        long deadline = System.nanoTime() + grace.toNanos();
        while (slots.children() > 0 && System.nanoTime() < deadline && !hurry) {
            Thread.sleep(50);
        }
        finishStopping();
    }

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
        if (!lifecycle.advance(Lifecycle.State.STOPPING)) return;
        wakeup.signal();
        if (workerId < 0) return;
        log.info("worker {} stopping: claiming nothing more, {} children running", workerId, slots.children());
    }

    private void finishStopping() throws InterruptedException {
        if (lifecycle.get() == Lifecycle.State.STOPPED) return;
        // The claim loop claims nothing more (stopping) but keeps writing results as children end.
        // A job its last round trip claimed after this snapshot is stopped by the claim loop itself.
        List<HeldJob> remaining = new ArrayList<>(held.values());
        for (HeldJob entry : remaining) entry.stop(HeldJob.StopCause.SHUTDOWN, "shutdown");
        long deadline = System.nanoTime() + terms.killGrace().plusSeconds(5).toNanos();
        while (slots.children() > 0 && System.nanoTime() < deadline) Thread.sleep(20);
        lifecycle.advance(Lifecycle.State.FINISHING);
        wakeup.signal();
        if (claimThread != null) {
            // With PostgreSQL away, the results still held get 10 s more; then the worker exits anyway.
            claimThread.join(10_000);
            if (claimThread.isAlive()) {
                lifecycle.advance(Lifecycle.State.ABANDONED);
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
        // This worker's last results may wait as counter changes for a row another statement held;
        // should this fold fail, any other worker's takes them.
        quietly("batch count folding", () -> metrics.countDeltasFolded(jdbi.withExtension(BatchDao.class, BatchDao::foldCountDeltas)));
        if (listener != null) listener.stop();
        maintenance.close();
        if (pruning != null) pruning.close();
        if (hostSampling != null) hostSampling.close();
        leaseKeeper.close();
        launcher.close();
        lifecycle.advance(Lifecycle.State.STOPPED);
        log.info("worker {} stopped", workerId);
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
}
