package dev.procq.worker;

import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** Wakes the claim loop early: a slot freed, jobs were announced, or shutdown began. Signals coalesce. */
final class Wakeup {
    private final Semaphore permits = new Semaphore(0);

    void signal() {
        if (permits.availablePermits() == 0) permits.release();
    }

    /** Forgets earlier signals: what they announced is about to be handled. */
    void clear() {
        permits.drainPermits();
    }

    /** Waits until signalled or the timeout passes. */
    void await(Duration timeout) throws InterruptedException {
        if (permits.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            permits.drainPermits();
        }
    }
}
