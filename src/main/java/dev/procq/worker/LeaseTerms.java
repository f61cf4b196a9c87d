package dev.procq.worker;

import dev.procq.config.Settings;
import java.time.Duration;

/**
 * What a lease lets a worker do, measured on its own monotonic clock. A lease that PostgreSQL
 * granted or renewed in a statement this worker sent at {@code t} runs until the server's
 * {@code now()} of that statement plus the lease, and the server's {@code now()} comes after
 * {@code t}; so the lease surely holds until {@code t + lease} here, whatever happened to the
 * reply. Only clock rates need agree, never clocks (docs/recovery.md).
 *
 * <p>Before that moment, less the kill grace and {@link Settings#FENCE_MARGIN}, a worker that
 * could not renew ends the child itself, so no child outlives its lease and no rescuer can start
 * a second one beside it. Renewal runs three times within that window, so one slow or lost
 * renewal costs nothing.
 */
record LeaseTerms(Duration lease, Duration killGrace) {

    /** Settings has checked that the lease leaves room to renew beyond the kill grace. */
    static LeaseTerms of(Settings settings) {
        return new LeaseTerms(settings.leaseDuration(), settings.killGrace());
    }

    /** From a lease's grant to the moment its child is ended unless the lease was renewed. */
    Duration window() {
        return lease.minus(killGrace).minus(Settings.FENCE_MARGIN);
    }

    /** How often the leases are renewed: three chances within the window. */
    Duration renewEvery() {
        return window().dividedBy(3);
    }

    /**
     * True while a lease whose child must begin to end at {@code fenceAtNanos} was granted less
     * than half a renewal interval before {@code nowNanos}: a renewal leaves it to the next one.
     * A job shorter than that (most are) is then never renewed, and no renewal locks its row while
     * the round trip writes its result. Every lease still gets two or three renewals before its
     * deadline: the first between half an interval and one and a half after the grant, the
     * second an interval later, both before the window's end at three intervals.
     */
    boolean freshAt(long fenceAtNanos, long nowNanos) {
        return fenceAtNanos - nowNanos > window().toNanos() - renewEvery().toNanos() / 2;
    }

    /** When the child of a lease granted by a statement sent at {@code sentAtNanos} must begin to end. */
    long fenceAt(long sentAtNanos) {
        return sentAtNanos + window().toNanos();
    }
}
