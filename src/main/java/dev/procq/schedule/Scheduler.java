package dev.procq.schedule;

import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.intake.Intake;
import dev.procq.intake.IntakeException;
import dev.procq.store.BatchControl;
import dev.procq.store.Database;
import dev.procq.store.ScheduleDao;
import dev.procq.store.ScheduleRow;
import io.micrometer.core.instrument.MeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns schedule ticks into batches. Every api, worker and dev process runs one, on its thread
 * {@code procq-scheduler}; they need no leader: a tick is handled by the transaction whose
 * {@link ScheduleDao#advanceIfDue} moves the schedule's next_run_at on from it, and that same
 * transaction records the tick's batch through {@link Intake}, the path POST /api/v1/batches
 * takes. Another process's attempt at the tick finds next_run_at moved, or the row held
 * ({@code SKIP LOCKED}), and does nothing; a process that dies mid-tick rolls back, and the tick
 * is due again for all.
 *
 * <p>A tick due longer ago than the misfire grace is missed (no scheduler ran then): the
 * schedule's catch-up policy decides what the missed ticks become. Any later tick is on time,
 * so a scheduler that was slow for a moment submits each tick it fell behind on.
 */
public final class Scheduler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Scheduler.class);
    /** How often each process looks for due ticks: a tick's batch is submitted within about this of its time. */
    static final Duration POLL_INTERVAL = Duration.ofMillis(250);
    /** Ticks counted one by one when catching up; past this a long downtime's count is given as at least this. */
    static final int MAX_COUNTED_MISSES = 100_000;
    /** At most this many ticks per poll, so one schedule far behind cannot hold the thread for long. */
    static final int MAX_TICKS_PER_POLL = 100;

    private final Jdbi jdbi;
    private final Intake intake;
    private final BatchControl control;
    private final Duration misfireGrace;
    private final Clock clock;
    private final SchedulerMetrics metrics;
    private ScheduledExecutorService thread;
    private volatile boolean closed;

    public Scheduler(Jdbi jdbi, Intake intake, Duration misfireGrace, Clock clock, MeterRegistry registry) {
        this.jdbi = jdbi;
        this.intake = intake;
        this.control = new BatchControl(jdbi);
        this.misfireGrace = misfireGrace;
        this.clock = clock;
        this.metrics = new SchedulerMetrics(registry);
    }

    /** The scheduler of an api, worker or dev process, recording batches through an intake of its own settings. */
    public static Scheduler of(Database database, JobTypes types, Settings settings, MeterRegistry registry) {
        Intake intake = Intake.of(database.jdbi(), types, settings, database.timeouts().statement());
        return new Scheduler(database.jdbi(), intake, settings.scheduleMisfireGrace(), Clock.systemUTC(), registry);
    }

    public Scheduler start() {
        thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
            Thread t = new Thread(runnable, "procq-scheduler");
            t.setDaemon(true);
            return t;
        });
        thread.schedule(this::loop, 0, TimeUnit.MILLISECONDS);
        return this;
    }

    private void loop() {
        int handled = 0;
        try {
            handled = runOnce();
        } catch (Throwable e) {
            if (isPermissionDenied(e)) {
                // A least-privilege worker role (db/ops/roles.sql) may not submit batches: that is the API's.
                log.info("this process's database role may not run schedules ({}); leaving their ticks to the others",
                        e.getMessage());
                close();
                return;
            }
            log.warn("scheduler poll failed: {}", e.toString());
        }
        if (closed) return;
        try {
            thread.schedule(this::loop, handled > 0 ? 0 : POLL_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.RejectedExecutionException closing) {
            // closed meanwhile
        }
    }

    /** One poll: handles what is due now, at most {@link #MAX_TICKS_PER_POLL} ticks; returns how many it handled. */
    public int runOnce() {
        int handled = 0;
        for (ScheduleRow row : jdbi.withExtension(ScheduleDao.class, dao -> dao.findDue(at(clock.instant())))) {
            if (closed || handled >= MAX_TICKS_PER_POLL) break;
            handled += handle(row);
        }
        return handled;
    }

    /** Does what the row needs now; returns the number of ticks this process handled (0: nothing, or another did). */
    private int handle(ScheduleRow row) {
        CronSchedule cron;
        try {
            cron = CronSchedule.parse(row.cron(), row.timeZone());
        } catch (IllegalArgumentException e) {
            // Only SQL can store a bad one; the API refuses it. Said once, not at every poll.
            if (jdbi.withExtension(ScheduleDao.class, dao -> dao.setLastError(row.id(), e.getMessage())) > 0) {
                log.error("schedule {} ({}) cannot run: {}", row.id(), row.name(), e.getMessage());
            }
            return 0;
        }
        Instant now = clock.instant();
        if (row.nextRunAt() == null) {
            Optional<Instant> next = cron.next(now);
            next.ifPresent(n -> jdbi.useExtension(ScheduleDao.class, dao -> dao.setNextIfUnset(row.id(), at(n))));
            return 0;
        }
        int handled = 0;
        if (row.queuedTickAt() != null) handled += releaseQueued(row);
        if (!row.nextRunAt().toInstant().isAfter(now)) handled += handleDue(row, cron, now);
        return handled;
    }

    /** The tick next_run_at names, or the missed ticks from it on. */
    private int handleDue(ScheduleRow row, CronSchedule cron, Instant now) {
        Instant due = row.nextRunAt().toInstant();
        Instant missedUpTo = now.minus(misfireGrace);
        long missed = 0;
        Instant lastMissed = null;
        Instant tick = due;
        while (tick != null && !tick.isAfter(missedUpTo)) {
            missed++;
            lastMissed = tick;
            if (missed >= MAX_COUNTED_MISSES) {
                lastMissed = cron.lastAtOrBefore(missedUpTo).orElse(tick);
                tick = cron.next(missedUpTo).orElse(null);
                break;
            }
            tick = cron.next(tick).orElse(null);
        }
        if (missed == 0) {
            return submitTick(row, due, cron.next(due).orElse(null), due, TickOutcome.CREATED, 0);
        }
        CatchUpPolicy catchUp = CatchUpPolicy.of(row.catchUp());
        if (catchUp == CatchUpPolicy.SKIP_MISSED) {
            long count = missed;
            OffsetDateTime next = atOrNull(tick);
            boolean won = inTransaction(dao -> dao.advanceIfDue(row.id(), at(due), next));
            if (!won) return 0;
            metrics.tick(TickOutcome.SKIPPED_MISSED, count);
            log.info("schedule {} ({}): skipped {} tick(s) missed since {} (catch-up skip-missed)", row.id(), row.name(),
                    count, due);
            return 1;
        }
        int handled = submitTick(row, due, tick, lastMissed, TickOutcome.MERGED_MISSED, missed - 1);
        if (handled > 0) {
            log.info("schedule {} ({}): {} tick(s) missed since {}, caught up with one (catch-up run-once)",
                    row.id(), row.name(), missed, due);
        }
        return handled;
    }

    /**
     * Moves next_run_at from {@code due} to {@code next} and applies the overlap policy to
     * {@code tick}, in one transaction; {@code merged} more ticks are counted as {@code mergedAs}.
     */
    private int submitTick(ScheduleRow row, Instant due, Instant next, Instant tick, TickOutcome mergedAs, long merged) {
        OverlapPolicy overlap = OverlapPolicy.of(row.overlap());
        TickOutcome outcome;
        try {
            outcome = jdbi.inTransaction(handle -> {
                ScheduleDao dao = handle.attach(ScheduleDao.class);
                if (!dao.advanceIfDue(row.id(), at(due), atOrNull(next))) return null;
                List<Long> earlier = dao.activeBatches(row.id());
                switch (overlap) {
                    case SKIP -> {
                        if (!earlier.isEmpty()) return TickOutcome.SKIPPED_OVERLAP;
                    }
                    case QUEUE_ONE -> {
                        if (!earlier.isEmpty() || row.queuedTickAt() != null) {
                            return dao.queueTick(row.id(), at(tick)) ? TickOutcome.QUEUED : TickOutcome.SKIPPED_OVERLAP;
                        }
                    }
                    case CANCEL_PREVIOUS -> {
                        for (long batch : earlier) control.cancel(batch);
                        if (!earlier.isEmpty()) {
                            log.info("schedule {} ({}): cancelled batch(es) {} for the tick of {}", row.id(), row.name(),
                                    earlier, tick);
                        }
                    }
                    case ALLOW -> {
                        // side by side
                    }
                }
                submit(dao, row, tick);
                return TickOutcome.CREATED;
            });
        } catch (IntakeException refused) {
            outcome = refusedTick(row, refused, dao -> dao.advanceIfDue(row.id(), at(due), atOrNull(next)));
        }
        if (outcome == null) return 0;
        metrics.tick(outcome, 1);
        metrics.tick(mergedAs, merged);
        if (outcome == TickOutcome.CREATED) metrics.lag(Duration.between(tick, clock.instant()));
        return 1;
    }

    /** queue-one: submits the waiting tick once no earlier batch of the schedule is left. */
    private int releaseQueued(ScheduleRow row) {
        Instant tick = row.queuedTickAt().toInstant();
        if (!jdbi.withExtension(ScheduleDao.class, dao -> dao.activeBatches(row.id())).isEmpty()) return 0;
        TickOutcome outcome;
        try {
            outcome = jdbi.inTransaction(handle -> {
                ScheduleDao dao = handle.attach(ScheduleDao.class);
                if (!dao.takeQueuedTick(row.id(), at(tick))) return null;
                submit(dao, row, tick);
                return TickOutcome.CREATED;
            });
        } catch (IntakeException refused) {
            outcome = refusedTick(row, refused, dao -> dao.takeQueuedTick(row.id(), at(tick)));
        }
        // Counted as queued when it was queued; its wait is the policy's, not the scheduler's lag.
        return outcome == null ? 0 : 1;
    }

    /** Records the tick's batch, linked to its schedule and tick, as POST /api/v1/batches would record the body. */
    private void submit(ScheduleDao dao, ScheduleRow row, Instant tick) {
        long batch = intake.submitJson(new java.io.ByteArrayInputStream(row.body().getBytes(StandardCharsets.UTF_8)),
                null, row.owner()).id();
        dao.markBatch(batch, row.id(), at(tick));
        dao.setLastError(row.id(), null);
    }

    /** A tick whose body intake refused: it is used up all the same (take), and the reason kept for the operator. */
    private TickOutcome refusedTick(ScheduleRow row, IntakeException refused, TakeTick take) {
        boolean won = inTransaction(dao -> {
            if (!take.take(dao)) return false;
            dao.setLastError(row.id(), refused.isNoTargets() ? null : refused.getMessage());
            return true;
        });
        if (!won) return null;
        if (refused.isNoTargets()) return TickOutcome.EMPTY;
        log.warn("schedule {} ({}): no batch for this tick: {}", row.id(), row.name(), refused.getMessage());
        return TickOutcome.FAILED;
    }

    @FunctionalInterface
    private interface TakeTick {
        boolean take(ScheduleDao dao);
    }

    private boolean inTransaction(TakeTick body) {
        return jdbi.inTransaction(handle -> body.take(handle.attach(ScheduleDao.class)));
    }

    /** SQLSTATE 42501: the role lacks a privilege, which retrying will not change. */
    private static boolean isPermissionDenied(Throwable e) {
        return hasSqlState(e, "42501");
    }

    /** Whether PostgreSQL answered this SQLSTATE somewhere in the causes of {@code e}. */
    static boolean hasSqlState(Throwable e, String state) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException sql && state.equals(sql.getSQLState())) return true;
            if (t.getCause() == t) break;
        }
        return false;
    }

    private static OffsetDateTime at(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }

    private static OffsetDateTime atOrNull(Instant instant) {
        return instant == null ? null : at(instant);
    }

    @Override
    public void close() {
        closed = true;
        if (thread != null) thread.shutdownNow();
    }
}
