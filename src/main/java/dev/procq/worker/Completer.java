package dev.procq.worker;

import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimedJob;
import dev.procq.store.ClaimRoundTrip;
import dev.procq.store.JobDao.FinishedOrClaimed;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds finished attempts until they are written, and writes them in the claim loop's round
 * trip: one statement writes every result that ended since the last round and claims the jobs
 * that take the slots they free ({@link ClaimRoundTrip}). A slot is free only
 * once its result is written, so the RUNNING rows of procq.job are exactly the slots a worker
 * has taken. While PostgreSQL is away, results stay here and are written when it is back; none
 * is dropped. Only the claim loop's thread gathers and writes; children's threads add.
 */
final class Completer {
    static final int MAX_BATCH = 1000;
    /**
     * How long the claim loop waits for more results before its round trip. Children that
     * end close together then share one statement instead of taking one each: for /bin/true at
     * concurrency 8 that saved the worker and PostgreSQL 0.5 ms of CPU per job. The wait ends
     * early once some type has no child left running: its slots then wait for nothing but the
     * write, and waiting longer would only leave them idle.
     */
    static final Duration LINGER = Duration.ofMillis(20);
    private static final Logger log = LoggerFactory.getLogger(Completer.class);

    /** A finished attempt and the type whose slot it holds until it is written. */
    record Ended(String type, AttemptResult result) {
    }

    /**
     * What one round trip wrote (or found fenced out: either way the slots are free) and claimed,
     * and per type with a cluster-wide limit the waiting jobs that limit held back.
     */
    record Round(List<Ended> results, List<ClaimedJob> claimed, Map<String, HeldBack> heldBack) {
        /** The earliest time a rate limit lets a held-back type start again; null when none holds one back. */
        Instant retryAt() {
            Instant earliest = null;
            for (HeldBack held : heldBack.values()) {
                if (held.retryAt() != null && (earliest == null || held.retryAt().isBefore(earliest))) earliest = held.retryAt();
            }
            return earliest;
        }
    }

    /** What a type's cluster-wide limits held back in one claim: waiting jobs per limit, and when a rate next allows a start. */
    record HeldBack(int byGlobalConcurrency, int byRate, int byKey, Instant retryAt) {
    }

    /**
     * How many waiting jobs a claim of a type with per-key limits reads in claim order, and how
     * many keys it visits after that when it found too few: a bound on the claim's cost, whatever
     * one hot key holds.
     */
    static final int KEY_SCAN_LIMIT = 1000;

    private final ClaimRoundTrip roundTrip;
    private final LinkedBlockingQueue<Ended> queue = new LinkedBlockingQueue<>();
    /** Gathered for the next round trip, in arrival order; kept through failed ones. */
    private final List<Ended> unwritten = new ArrayList<>();
    private long failuresInARow;

    Completer(Jdbi jdbi, long workerId, Duration lease) {
        this.roundTrip = new ClaimRoundTrip(jdbi, workerId, lease.toMillis(), KEY_SCAN_LIMIT);
    }

    void add(String type, AttemptResult result) {
        queue.add(new Ended(type, result));
    }

    boolean hasResults() {
        return backlog() > 0;
    }

    /** Results waiting to be written, including ones held back by a database outage. */
    int backlog() {
        synchronized (unwritten) {
            return queue.size() + unwritten.size();
        }
    }

    /**
     * The results for the next round trip. Fresh results wait up to {@link #LINGER} for others
     * when {@code linger} is set, unless {@code nothingToWaitFor} says so first; results held
     * through a failed round trip go again at once.
     */
    List<Ended> gather(boolean linger, BooleanSupplier nothingToWaitFor) throws InterruptedException {
        boolean fresh;
        synchronized (unwritten) {
            fresh = unwritten.isEmpty();
            queue.drainTo(unwritten, MAX_BATCH - unwritten.size());
            fresh &= !unwritten.isEmpty();
        }
        if (fresh && linger) lingerForMore(nothingToWaitFor);
        synchronized (unwritten) {
            return List.copyOf(unwritten);
        }
    }

    private void lingerForMore(BooleanSupplier nothingToWaitFor) throws InterruptedException {
        long deadline = System.nanoTime() + LINGER.toNanos();
        while (!nothingToWaitFor.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return;
            Ended next = queue.poll(left, TimeUnit.NANOSECONDS);
            if (next == null) return;
            synchronized (unwritten) {
                unwritten.add(next);
                if (unwritten.size() >= MAX_BATCH) return;
            }
        }
    }

    /**
     * One round trip: writes {@code batch} (what {@link #gather} returned) and claims
     * {@code claims}. On failure the results stay for the next round and the error is thrown.
     */
    Round writeAndClaim(List<Ended> batch, Claims claims) {
        List<FinishedOrClaimed> rows;
        try {
            rows = write(batch, claims);
        } catch (RuntimeException e) {
            if (failuresInARow++ == 0 && !batch.isEmpty()) {
                log.warn("cannot write {} results, keeping them until the database is back: {}", batch.size(), e.getMessage());
            }
            throw e;
        }
        synchronized (unwritten) {
            // gather() handed out a copy of the head of the list; only this thread adds to it.
            unwritten.subList(0, batch.size()).clear();
        }
        if (failuresInARow > 0 && !batch.isEmpty()) {
            log.info("database reachable again; wrote {} held results", batch.size());
        }
        failuresInARow = 0;
        Set<Long> written = new HashSet<>();
        List<ClaimedJob> claimed = new ArrayList<>();
        Map<String, HeldBack> heldBack = new TreeMap<>();
        for (FinishedOrClaimed row : rows) {
            if (row.limit()) heldBack.put(row.type(), new HeldBack(row.heldByGlobal(), row.heldByRate(), row.heldByKey(),
                    row.retryAt() == null ? null : row.retryAt().toInstant()));
            else if (row.claim()) claimed.add(row.claimedJob());
            else written.add(row.id());
        }
        if (written.size() < batch.size()) {
            Set<Long> fenced = new HashSet<>();
            batch.forEach(ended -> fenced.add(ended.result().jobId()));
            fenced.removeAll(written);
            log.warn("{} results not written: this worker no longer holds jobs {}", fenced.size(), fenced);
        }
        return new Round(batch, claimed, heldBack);
    }

    private List<FinishedOrClaimed> write(List<Ended> batch, Claims claims) {
        List<AttemptResult> results = new ArrayList<>(batch.size());
        for (Ended ended : batch) results.add(ended.result());
        return roundTrip.run(results, claims.types(), claims.slots(), claims.total());
    }
}
