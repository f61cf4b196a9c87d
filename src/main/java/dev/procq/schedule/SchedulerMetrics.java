package dev.procq.schedule;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;

/** procq_schedule_tick_lag_seconds and procq_schedule_ticks_total{outcome}, of this process's scheduler. */
final class SchedulerMetrics {
    private final Timer lag;
    private final Map<TickOutcome, Counter> ticks = new EnumMap<>(TickOutcome.class);

    SchedulerMetrics(MeterRegistry registry) {
        lag = Timer.builder("procq_schedule_tick_lag")
                .description("from a tick's due time to the commit of its batch, for the ticks this process submitted")
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1))
                .maximumExpectedValue(Duration.ofMinutes(10))
                .register(registry);
        for (TickOutcome outcome : TickOutcome.values()) {
            ticks.put(outcome, Counter.builder("procq_schedule_ticks").tag("outcome", outcome.label)
                    .description("schedule ticks this process handled, by what became of them").register(registry));
        }
    }

    void lag(Duration sinceDue) {
        lag.record(sinceDue.isNegative() ? Duration.ZERO : sinceDue);
    }

    void tick(TickOutcome outcome, long count) {
        if (count > 0) ticks.get(outcome).increment(count);
    }
}
