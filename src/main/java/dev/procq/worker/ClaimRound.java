package dev.procq.worker;

import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.pool.ChildLauncher;
import dev.procq.pool.ChildResult;
import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimedJob;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One round trip of the claim loop: it writes the results gathered by the {@link Completer} and,
 * in the same statement, claims at most the slots free once they are written (per type and
 * overall), then starts a child for each job claimed; it claims nothing while the {@link
 * HostGate} holds starts. A slot is taken from the claim until its result is written, so
 * procq.job never shows a worker with more RUNNING rows than slots.
 */
final class ClaimRound {
    private static final Logger log = LoggerFactory.getLogger(ClaimRound.class);

    private final JobTypes types;
    private final LiveTypes liveTypes;
    private final ChildLauncher launcher;
    private final ChildStarter starter;
    private final Completer completer;
    private final Slots slots;
    private final int globalLimit;
    private final Map<Long, HeldJob> held;
    private final LeaseTerms terms;
    private final Wakeup wakeup;
    private final Lifecycle lifecycle;
    private final WorkerMetrics metrics;
    private final HostGate host;
    private volatile Instant retryAt;
    private boolean capReported;

    ClaimRound(JobTypes types, LiveTypes liveTypes, ChildLauncher launcher, ChildStarter starter, Completer completer,
               Slots slots, int globalLimit, Map<Long, HeldJob> held, LeaseTerms terms, Wakeup wakeup,
               Lifecycle lifecycle, WorkerMetrics metrics, HostGate host) {
        this.types = types;
        this.liveTypes = liveTypes;
        this.launcher = launcher;
        this.starter = starter;
        this.completer = completer;
        this.slots = slots;
        this.globalLimit = globalLimit;
        this.held = held;
        this.terms = terms;
        this.wakeup = wakeup;
        this.lifecycle = lifecycle;
        this.metrics = metrics;
        this.host = host;
    }

    /**
     * When a rate limit held back the last claim: the time it next allows a start, so the loop
     * claims again then rather than at its next poll (and not before: nothing would start).
     */
    Instant retryAt() {
        return retryAt;
    }

    /**
     * One round trip: the results that ended (after lingering for more), and the claim of at
     * most the slots free once they are written. While stopping it only writes.
     */
    void run() throws InterruptedException {
        boolean stopping = lifecycle.stopping();
        List<Completer.Ended> results = completer.gather(!stopping, slots::aTypeWaitsOnlyForItsWrite);
        // A launcher whose spawn helper is down and not yet restartable gets no work to lose.
        Claims claims = stopping || !launcher.ready() ? Claims.NONE : freeSlots(results);
        // A host short of memory or busy gets no new children, so this worker claims none (see HostGate).
        if (!claims.none() && host != null && host.holdsClaim()) claims = Claims.NONE;
        if (results.isEmpty() && claims.none()) return;
        // Whatever woke the loop so far is handled by this round trip; a signal from now on makes another.
        wakeup.clear();
        // Before anything goes out: the leases of the jobs claimed run from the server's now(), later than this.
        long sentAt = System.nanoTime();
        Completer.Round round = completer.writeAndClaim(results, claims);
        metrics.roundTrip(System.nanoTime() - sentAt);
        for (Completer.Ended ended : round.results()) {
            // Written or fenced out, the attempt is no longer this worker's to renew. Only that
            // attempt: a later attempt of the same job may be held by now.
            AttemptResult result = ended.result();
            held.computeIfPresent(result.jobId(), (id, entry) -> entry.job.attempt() == result.attempt() ? null : entry);
            slots.release(ended.type());
        }
        round.heldBack().forEach(metrics::heldBack);
        retryAt = round.retryAt();
        start(round.claimed(), terms.fenceAt(sentAt));
    }

    /**
     * Free slots per type and overall, counting the slots of {@code writing} as free: the same
     * statement that claims writes them. Types come in the file's order; the first take what the
     * global cap leaves.
     */
    private Claims freeSlots(List<Completer.Ended> writing) {
        Map<String, Integer> freedByType = new HashMap<>();
        for (Completer.Ended ended : writing) freedByType.merge(ended.type(), 1, Integer::sum);
        int total = globalLimit - slots.taken() + writing.size();
        List<String> names = new ArrayList<>();
        List<Integer> free = new ArrayList<>();
        reportCapBelowTypes();
        for (JobType type : liveTypes.types()) {
            int typeFree = liveTypes.limit(type) - slots.taken(type.name()) + freedByType.getOrDefault(type.name(), 0);
            typeFree = Math.min(typeFree, total);
            if (typeFree <= 0) continue;
            names.add(type.name());
            free.add(typeFree);
        }
        return Claims.of(names, free, total);
    }

    /**
     * Says once, when the live limits of the types come to more than the worker's cap (an
     * operator raised one, or set the cap lower than the file's sum), that they share the cap:
     * a type held below its concurrency is never a silent surprise.
     */
    private void reportCapBelowTypes() {
        int wanted = 0;
        for (JobType type : liveTypes.types()) wanted += liveTypes.limit(type);
        boolean over = wanted > globalLimit;
        if (over && !capReported) {
            log.info("the job types' concurrency comes to {} per worker, above this worker's cap of {} "
                    + "(PROCQ_WORKER_CONCURRENCY): the types share those {} slots", wanted, globalLimit, globalLimit);
        }
        capReported = over;
    }

    private void start(List<ClaimedJob> claimed, long fenceAt) {
        if (claimed.isEmpty()) return;
        Map<String, List<ClaimedJob>> byType = new HashMap<>();
        for (ClaimedJob job : claimed) byType.computeIfAbsent(job.type(), name -> new ArrayList<>()).add(job);
        byType.forEach(metrics::claimed);
        for (ClaimedJob job : claimed) {
            JobType type = types.find(job.type()).orElseThrow();
            HeldJob entry = new HeldJob(job, fenceAt);
            HeldJob stale = held.put(job.id(), entry);
            if (stale != null) {
                // This worker stalled past its lease, the job was rescued and it claimed the job
                // again before its lease keeper noticed: the old attempt's child must not run on.
                log.warn("claimed job {} again as attempt {} while attempt {} still ran here; stopping that one",
                        job.id(), job.attempt(), stale.job.attempt());
                stale.stop(HeldJob.StopCause.LEASE_LOST, "lease lost");
            }
            // Claimed while shutdown began: handed back at once, not started.
            if (lifecycle.stopping()) entry.stop(HeldJob.StopCause.SHUTDOWN, "shutdown");
            slots.take(type.name());
            starter.start(entry, type, this::finished);
        }
    }

    /** A child ended (or never started): its slot stays taken until this loop writes the result. */
    private void finished(HeldJob entry, JobType type, ChildResult result, AttemptResult forced) {
        entry.ended = true;
        slots.childEnded(type.name());
        if (entry.stopCause == HeldJob.StopCause.LEASE_LOST) {
            // Someone else owns this job now (maybe a later attempt here); a write would be fenced
            // out anyway, and no RUNNING row of this attempt is left to stand for the slot.
            held.remove(entry.job.id(), entry);
            slots.release(type.name());
            wakeup.signal();
            return;
        }
        AttemptResult verdict = forced != null ? forced : Verdict.of(entry.job, type, liveTypes.exitCodes(type), result,
                entry.stopCause);
        if (result != null && result.outcome() == ChildResult.Outcome.FENCED) metrics.fenced();
        metrics.finished(type.name(), verdict);
        completer.add(type.name(), verdict);
        wakeup.signal();
    }
}
