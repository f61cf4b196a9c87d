package dev.procq.worker;

import dev.procq.config.JobType;
import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimedJob;
import dev.procq.store.Outcome;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The worker's own meters: claims, attempts by outcome (SPAWN_FAILED among them), run time,
 * queue wait, lease expiries found by its rescuer, failed lease renewals, children ended at their
 * lease deadline, the round trip's time, claims held back by a cluster-wide limit, and each type's live limits and use
 * as it sees them.
 */
final class WorkerMetrics {
    /** Outcomes a worker writes itself; LEASE_EXPIRED is counted by procq_worker_lease_expiries. */
    private static final List<Outcome> WORKER_OUTCOMES = List.of(Outcome.OK, Outcome.FAILED, Outcome.TIMEOUT,
            Outcome.SPAWN_FAILED, Outcome.STOPPED, Outcome.LOST);
    private final MeterRegistry registry;
    private final Counter leaseExpiries;
    private final Counter renewalFailures;
    private final Counter renewalsSkipped;
    private final Counter countDeltasFolded;
    private final Counter fencedChildren;
    private final AtomicLong hostMemoryAvailable = new AtomicLong(-1);
    private final AtomicReference<Double> hostLoad = new AtomicReference<>(Double.NaN);
    private final Timer roundTrips;

    /** The limits that can hold back a claim, as the {@code limit} tag of procq_worker_claims_held_back says them. */
    enum HeldBackBy {
        GLOBAL_CONCURRENCY("global_concurrency"), RATE("rate"), KEY("key");

        final String tag;

        HeldBackBy(String tag) {
            this.tag = tag;
        }
    }

    WorkerMetrics(MeterRegistry registry, java.util.function.IntSupplier running,
                  java.util.function.ToIntFunction<String> runningOfType, LiveTypes liveTypes) {
        this.registry = registry;
        Gauge.builder("procq_worker_running_children", running, r -> r.getAsInt())
                .description("children this worker is running now").strongReference(true).register(registry);
        leaseExpiries = Counter.builder("procq_worker_lease_expiries")
                .description("RUNNING jobs whose lease ran out (their worker died or stalled), found by this worker's rescuer")
                .register(registry);
        renewalFailures = Counter.builder("procq_worker_lease_renewal_failures")
                .description("lease renewals that failed (database unreachable or too slow); children are ended before"
                        + " leases that cannot be renewed run out")
                .register(registry);
        renewalsSkipped = Counter.builder("procq_worker_lease_renewals_skipped")
                .description("leases left as they were by a renewal because another statement had the job's row locked"
                        + " (most often this worker's own round trip writing the result); the next renewal tries again")
                .register(registry);
        countDeltasFolded = Counter.builder("procq_worker_batch_count_deltas_folded")
                .description("batch counter changes this worker's periodic fold took from procq.batch_delta into procq.batch"
                        + " (claims and results written while another transaction held their batch's row)")
                .register(registry);
        fencedChildren = Counter.builder("procq_worker_fenced_children")
                .description("children ended at their lease deadline because their lease could not be renewed in time;"
                        + " their jobs are handed back (outcome LOST)")
                .register(registry);
        roundTrips = Timer.builder("procq_worker_round_trip")
                .description("each round trip's statement (results written, jobs claimed) from sending it to its answer")
                .publishPercentileHistogram().register(registry);
        for (JobType type : liveTypes.types()) {
            String name = type.name();
            Gauge.builder("procq_worker_type_concurrency", liveTypes, live -> live.concurrency(name)).tag("type", name)
                    .description("the type's concurrency per worker as this worker reads it from procq.job_type")
                    .strongReference(true).register(registry);
            Gauge.builder("procq_worker_type_paused", liveTypes, live -> live.paused(name) ? 1 : 0).tag("type", name)
                    .description("1 while procq.job_type says the type is paused, as this worker last read it")
                    .strongReference(true).register(registry);
            Gauge.builder("procq_worker_type_global_concurrency", liveTypes,
                            live -> live.globalConcurrency(name).map(Integer::doubleValue).orElse(Double.NaN))
                    .tag("type", name)
                    .description("the type's most children across all workers as this worker reads it from"
                            + " procq.job_type (NaN: no cluster-wide limit)")
                    .strongReference(true).register(registry);
            Gauge.builder("procq_worker_type_key_concurrency", liveTypes,
                            live -> live.keyConcurrency(name).map(Integer::doubleValue).orElse(Double.NaN))
                    .tag("type", name)
                    .description("the type's most running per key across all workers, as last read (NaN: none)")
                    .strongReference(true).register(registry);
            Gauge.builder("procq_worker_type_key_rate", liveTypes, live -> live.keyRate(name).orElse(Double.NaN))
                    .tag("type", name)
                    .description("the type's most starts per second per key across all workers, as last read (NaN: none)")
                    .strongReference(true).register(registry);
            Gauge.builder("procq_worker_type_rate", liveTypes, live -> live.rate(name).orElse(Double.NaN))
                    .tag("type", name)
                    .description("the type's most starts per second across all workers, as last read (NaN: none)")
                    .strongReference(true).register(registry);
            Gauge.builder("procq_worker_type_running", liveTypes, live -> runningOfType.applyAsInt(name)).tag("type", name)
                    .description("jobs of the type this worker holds now (its RUNNING rows: children running or their"
                            + " results on the way to the database)")
                    .strongReference(true).register(registry);
            // Present at zero from the start, so rate() and alerts work before the first failure.
            for (HeldBackBy limit : HeldBackBy.values()) heldBack(name, limit);
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

    void roundTrip(long nanos) {
        roundTrips.record(nanos, TimeUnit.NANOSECONDS);
    }

    void finished(String type, AttemptResult result) {
        attempts(type, result.outcome()).increment();
        Timer.builder("procq_worker_run_time").tag("type", type).description("how long each child ran")
                .publishPercentileHistogram().register(registry).record(result.duration());
    }

    /** Waiting jobs a claim left although this worker had slots free, by the limit that held them. */
    void heldBack(String type, Completer.HeldBack held) {
        if (held.byGlobalConcurrency() > 0) heldBack(type, HeldBackBy.GLOBAL_CONCURRENCY).increment(held.byGlobalConcurrency());
        if (held.byRate() > 0) heldBack(type, HeldBackBy.RATE).increment(held.byRate());
        if (held.byKey() > 0) heldBack(type, HeldBackBy.KEY).increment(held.byKey());
    }

    /**
     * The host gate's meters, registered only on a worker with host limits: which reason holds
     * starts now, claims it held back, children stopped for memory, and the last readings.
     */
    void hostGate(java.util.function.Supplier<HostGate.Reason> holding) {
        for (HostGate.Reason reason : HostGate.Reason.values()) {
            Gauge.builder("procq_worker_host_hold", holding, now -> now.get() == reason ? 1 : 0).tag("reason", reason.tag())
                    .description("1 while this worker holds new starts for this reason (memory: available memory below"
                            + " PROCQ_WORKER_MEMFREE; load: PROCQ_WORKER_MAX_LOAD; pressure: PROCQ_WORKER_MAX_PRESSURE)")
                    .strongReference(true).register(registry);
            claimHeldBack(reason, 0);
        }
        stoppedForMemory(0);
        Gauge.builder("procq_worker_host_memory_available_bytes", hostMemoryAvailable, AtomicLong::doubleValue)
                .description("the host's available memory (MemAvailable, or less under a cgroup limit) at the last"
                        + " sample; -1 before the first or when no memory floor is set")
                .strongReference(true).register(registry);
        Gauge.builder("procq_worker_host_load1", hostLoad, load -> load.get())
                .description("the host's 1-minute load average at the last sample (NaN: no PROCQ_WORKER_MAX_LOAD)")
                .strongReference(true).register(registry);
    }

    void claimHeldBack(HostGate.Reason reason) {
        claimHeldBack(reason, 1);
    }

    void stoppedForMemory() {
        stoppedForMemory(1);
    }

    void hostMemoryAvailable(long bytes) {
        hostMemoryAvailable.set(bytes);
    }

    void hostLoad(double load1) {
        hostLoad.set(load1);
    }

    private void claimHeldBack(HostGate.Reason reason, int claims) {
        Counter.builder("procq_worker_starts_held_back").tag("reason", reason.tag())
                .description("claim rounds in which this worker had slots free but claimed and started nothing because"
                        + " the host was short of memory (memory) or over its load or PSI pressure ceiling (load, pressure)")
                .register(registry).increment(claims);
    }

    private void stoppedForMemory(int children) {
        Counter.builder("procq_worker_children_stopped_for_memory")
                .description("youngest children this worker stopped because available memory fell below"
                        + " PROCQ_WORKER_MEMFREE_KILL; their jobs were handed back PENDING, the attempt not counted")
                .register(registry).increment(children);
    }

    void renewalFailed() {
        renewalFailures.increment();
    }

    void renewalSkipped() {
        renewalsSkipped.increment();
    }

    void countDeltasFolded(long folded) {
        countDeltasFolded.increment(folded);
    }

    void fenced() {
        fencedChildren.increment();
    }

    void leasesExpired(int jobs) {
        if (jobs > 0) leaseExpiries.increment(jobs);
    }

    private Counter heldBack(String type, HeldBackBy limit) {
        return Counter.builder("procq_worker_claims_held_back").tag("type", type).tag("limit", limit.tag)
                .description("waiting jobs this worker's claims left although it had slots free for them, because a"
                        + " limit of the type was reached (limit: global_concurrency, rate, or key: key_concurrency and"
                        + " key_rate)")
                .register(registry);
    }

    private Counter claims(String type) {
        return Counter.builder("procq_worker_claimed_jobs").tag("type", type)
                .description("jobs this worker claimed").register(registry);
    }

    private Counter attempts(String type, Outcome outcome) {
        return Counter.builder("procq_worker_attempts").tag("type", type).tag("outcome", outcome.name())
                .description("attempts this worker finished, by outcome: OK, FAILED (exit code or signal), TIMEOUT, "
                        + "SPAWN_FAILED (program could not start), STOPPED (cancel, shutdown or short of memory), LOST (spawn helper died, or"
                        + " ended at the lease deadline)")
                .register(registry);
    }
}
