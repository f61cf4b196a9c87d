package dev.procq.worker;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** Exponential backoff with jitter, so a failing endpoint is not hit by every retry at the same instant. */
final class RetryPolicy {
    static final Duration MAX_DELAY = Duration.ofHours(1);

    private RetryPolicy() {
    }

    /** Delay before attempt {@code finishedAttempt + 1}: base * 2^(n-1), times a random factor in [0.5, 1.5). */
    static Duration delayAfter(int finishedAttempt, Duration base) {
        int doublings = Math.min(Math.max(finishedAttempt - 1, 0), 30);
        double millis = base.toMillis() * Math.pow(2, doublings);
        millis = Math.min(millis, MAX_DELAY.toMillis());
        double jitter = 0.5 + ThreadLocalRandom.current().nextDouble();
        return Duration.ofMillis((long) (millis * jitter));
    }
}
