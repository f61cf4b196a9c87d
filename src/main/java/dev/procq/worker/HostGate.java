package dev.procq.worker;

import dev.procq.config.HostLimits;
import dev.procq.config.HostLimits.Pressure;
import dev.procq.config.Sizes;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.StringJoiner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds a worker's new starts while the host is short of memory or busy (GNU parallel's {@code
 * --memfree} and {@code --load}), sampling the host every {@link #SAMPLE_INTERVAL} on a thread
 * of its own, never per job. A hold begins at the first sample over a limit and ends once the
 * samples of {@link #RESUME_AFTER} were all clear, so a host at the edge does not flap. While
 * held, the claim loop claims nothing (it never claims a job it would not start). Below the kill
 * floor it stops the youngest child, its job handed back PENDING without counting the attempt;
 * one at a time: the next only {@link #RESUME_AFTER} after that child has ended, as the memory it
 * held takes a moment to show as available again.
 */
final class HostGate implements Maintenance.Task {
    static final Duration SAMPLE_INTERVAL = Duration.ofMillis(200);
    static final Duration RESUME_AFTER = Duration.ofSeconds(1);
    private static final Logger log = LoggerFactory.getLogger(HostGate.class);

    /** Why starts are held, as the {@code reason} tag of the metrics says it. */
    enum Reason {
        MEMORY, LOAD, PRESSURE;

        String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final HostLimits limits;
    private final HostReadings readings;
    private final Map<Long, HeldJob> held;
    private final Wakeup wakeup;
    private final WorkerMetrics metrics;
    private volatile Reason holding;
    private long clearSinceNanos;
    private HeldJob stoppedForMemory;
    /** When this gate first saw that child ended (System.nanoTime); 0 before. */
    private long stoppedEndedAtNanos;

    HostGate(HostLimits limits, Map<Long, HeldJob> held, Wakeup wakeup, WorkerMetrics metrics) {
        this.limits = limits;
        this.readings = new HostReadings(limits);
        this.held = held;
        this.wakeup = wakeup;
        this.metrics = metrics;
        metrics.hostGate(this::holding);
        if (!readings.memoryLimitsFrom().isEmpty()) {
            log.info("available memory is the host's or the room under a cgroup's limit, whichever is less: {}",
                    readings.memoryLimitsFrom());
        }
    }

    /** The reason starts are held now; null when the worker may start children. */
    Reason holding() {
        return holding;
    }

    /**
     * For the claim loop, before a claim with free slots: true (and counted) when it must claim
     * nothing this round.
     */
    boolean holdsClaim() {
        Reason reason = holding;
        if (reason == null) return false;
        metrics.claimHeldBack(reason);
        return true;
    }

    @Override
    public String name() {
        return "host sampling";
    }

    @Override
    public Duration runOnce() {
        HostReadings.Sample sample = readings.read();
        String over = null;
        Reason reason = null;
        if (sample.memoryAvailable().isPresent()) {
            long available = sample.memoryAvailable().getAsLong();
            metrics.hostMemoryAvailable(available);
            if (available < limits.memfree().getAsLong()) {
                reason = Reason.MEMORY;
                over = "available memory " + Sizes.format(available) + " is below " + HostLimits.MEMFREE + "="
                        + Sizes.format(limits.memfree().getAsLong());
            }
            if (limits.memfreeKill().isPresent()) stopYoungestBelow(available, limits.memfreeKill().getAsLong());
        }
        if (reason == null && limits.maxLoad().isPresent()) {
            metrics.hostLoad(sample.load1());
            if (sample.load1() > limits.maxLoad().getAsDouble()) {
                reason = Reason.LOAD;
                over = "1-minute load " + sample.load1() + " is above " + HostLimits.MAX_LOAD + "=" + limits.maxLoad().getAsDouble();
            }
        }
        if (reason == null) {
            StringJoiner pressures = new StringJoiner(", ");
            for (Map.Entry<Pressure, Double> ceiling : limits.maxPressure().entrySet()) {
                double pressure = sample.pressure().get(ceiling.getKey());
                if (pressure > ceiling.getValue()) {
                    pressures.add(ceiling.getKey().key() + " pressure " + pressure + "% is above " + ceiling.getValue() + "%");
                }
            }
            if (pressures.length() > 0) {
                reason = Reason.PRESSURE;
                over = pressures + " (" + HostLimits.MAX_PRESSURE + ")";
            }
        }
        update(reason, over);
        return SAMPLE_INTERVAL;
    }

    private void update(Reason reason, String over) {
        long now = System.nanoTime();
        if (reason != null) {
            clearSinceNanos = 0;
            if (holding == null) log.info("holding new starts: {}", over);
            else if (holding != reason) log.info("still holding new starts: {}", over);
            holding = reason;
            return;
        }
        if (holding == null) return;
        if (clearSinceNanos == 0) clearSinceNanos = now;
        if (now - clearSinceNanos < RESUME_AFTER.toNanos()) return;
        log.info("host recovered ({} clear for {}): starting children again", holding.tag(), RESUME_AFTER.toMillis() + "ms");
        holding = null;
        wakeup.signal();
    }

    /** Below the kill floor: stops the youngest running child, unless one stopped for memory is still ending. */
    private void stopYoungestBelow(long available, long floor) {
        if (available >= floor) return;
        if (stoppedForMemory != null) {
            if (!stoppedForMemory.ended) return;
            long now = System.nanoTime();
            if (stoppedEndedAtNanos == 0) stoppedEndedAtNanos = now;
            if (now - stoppedEndedAtNanos < RESUME_AFTER.toNanos()) return;
        }
        stoppedForMemory = null;
        stoppedEndedAtNanos = 0;
        HeldJob youngest = null;
        for (HeldJob entry : held.values()) {
            if (!entry.running()) continue;
            if (youngest == null || entry.startedAtNanos() - youngest.startedAtNanos() > 0) youngest = entry;
        }
        if (youngest == null) return;
        log.warn("available memory {} is below {}={}: stopping the youngest child (job {}, attempt {}) and handing"
                        + " its job back", Sizes.format(available), HostLimits.MEMFREE_KILL, Sizes.format(floor),
                youngest.job.id(), youngest.job.attempt());
        stoppedForMemory = youngest;
        youngest.stop(HeldJob.StopCause.LOW_MEMORY, "host memory low");
        metrics.stoppedForMemory();
    }
}
