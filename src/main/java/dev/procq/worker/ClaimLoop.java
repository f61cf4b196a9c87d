package dev.procq.worker;

import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The claim loop: one {@link ClaimRound} at a time, then a sleep until a child ends, jobs are
 * announced, or the poll interval passes. Every failure of a round is caught here: the loop
 * backs off and tries again until the worker stops, and says once that it is failing and once
 * that it is back.
 */
final class ClaimLoop implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(ClaimLoop.class);
    /** Past a rate limit's next start, so that the claim finds it due (the clocks of worker and server differ a little). */
    static final Duration RATE_MARGIN = Duration.ofMillis(2);

    private final ClaimRound round;
    private final Completer completer;
    private final LiveTypes liveTypes;
    private final Wakeup wakeup;
    private final Lifecycle lifecycle;
    private final Duration pollInterval;

    ClaimLoop(ClaimRound round, Completer completer, LiveTypes liveTypes, Wakeup wakeup, Lifecycle lifecycle,
              Duration pollInterval) {
        this.round = round;
        this.completer = completer;
        this.liveTypes = liveTypes;
        this.wakeup = wakeup;
        this.lifecycle = lifecycle;
        this.pollInterval = pollInterval;
    }

    @Override
    public void run() {
        boolean warned = false;
        int failures = 0;
        while (!lifecycle.claimLoopDone(completer.hasResults())) {
            try {
                if (!lifecycle.stopping()) liveTypes.refreshIfDue();
                round.run();
                if (warned) log.info("database reachable again; claiming");
                warned = false;
                failures = 0;
                if (!completer.hasResults()) wakeup.await(untilNextClaim());
            } catch (InterruptedException e) {
                return;
            } catch (Throwable e) {
                if (!warned) {
                    log.warn("claiming failed, retrying every {} at most: {}", pollInterval, e.toString());
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

    /** The poll interval, or less when a rate limit allows the next start sooner. */
    private Duration untilNextClaim() {
        Instant retryAt = round.retryAt();
        if (retryAt == null) return pollInterval;
        Duration untilRetry = Duration.between(Instant.now(), retryAt).plus(RATE_MARGIN);
        if (untilRetry.isNegative()) return RATE_MARGIN;
        return untilRetry.compareTo(pollInterval) < 0 ? untilRetry : pollInterval;
    }

    /** Quick retries first, so results held through a short outage are written soon after it; then the poll interval. */
    private Duration retryDelay(int failures) {
        Duration backoff = Duration.ofMillis(100L << Math.min(failures, 6));
        return backoff.compareTo(pollInterval) < 0 ? backoff : pollInterval;
    }
}
