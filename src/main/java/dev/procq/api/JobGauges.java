package dev.procq.api;

import dev.procq.store.BatchDao;
import dev.procq.store.BatchState;
import dev.procq.store.JobState;
import dev.procq.store.TypeJobCounts;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code procq_jobs{type, state}}: how many jobs of each type are in each state, database-wide;
 * {@code procq_batches_held{type, state}}: how many of its batches are PAUSED or HALTED. Read from
 * the batch counters (one small GROUP BY over procq.batch, never a count of job rows)
 * and cached for {@link #MAX_AGE}, so frequent scrapes cost the database almost nothing. While
 * the database cannot be read the gauges report NaN rather than stale numbers.
 */
public final class JobGauges implements MeterBinder {
    public static final Duration MAX_AGE = Duration.ofSeconds(5);
    public static final String NAME = "procq_jobs";
    public static final String HELD_BATCHES = "procq_batches_held";
    private static final List<BatchState> HELD_STATES = List.of(BatchState.PAUSED, BatchState.HALTED);
    private static final Logger log = LoggerFactory.getLogger(JobGauges.class);

    private final Supplier<List<TypeJobCounts>> source;
    private final Collection<String> knownTypes;
    private final Set<String> registered = ConcurrentHashMap.newKeySet();
    private MeterRegistry registry;
    private Map<String, TypeJobCounts> snapshot = Map.of();
    private boolean readable = true;
    private long readAtNanos;
    private boolean everRead;

    /** Gauges for the given types from the start, and for any other type once it shows up in procq.batch. */
    public JobGauges(Jdbi jdbi, Collection<String> knownTypes) {
        this(() -> jdbi.withExtension(BatchDao.class, BatchDao::countJobsByType), knownTypes);
    }

    JobGauges(Supplier<List<TypeJobCounts>> source, Collection<String> knownTypes) {
        this.source = source;
        this.knownTypes = List.copyOf(knownTypes);
    }

    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        this.registry = registry;
        for (String type : knownTypes) register(type);
    }

    private void register(String type) {
        if (!registered.add(type)) return;
        for (JobState state : JobState.values()) {
            Gauge.builder(NAME, this, gauges -> gauges.count(type, state))
                    .tag("type", type).tag("state", state.name())
                    .description("jobs of the type in the state, from the batch counters (database-wide: every API reports the same)")
                    .strongReference(true)
                    .register(registry);
        }
        for (BatchState state : HELD_STATES) {
            Gauge.builder(HELD_BATCHES, this, gauges -> gauges.held(type, state))
                    .tag("type", type).tag("state", state.name())
                    .description("batches of the type that claim nothing: PAUSED by an operator, HALTED by their failure"
                            + " budget (database-wide)")
                    .strongReference(true)
                    .register(registry);
        }
    }

    private synchronized double held(String type, BatchState state) {
        return read(type, counts -> counts.heldBatches(state));
    }

    private synchronized double count(String type, JobState state) {
        return read(type, counts -> counts.of(state));
    }

    private double read(String type, java.util.function.ToLongFunction<TypeJobCounts> value) {
        refreshIfStale();
        if (!readable) return Double.NaN;
        TypeJobCounts counts = snapshot.get(type);
        return counts == null ? 0 : value.applyAsLong(counts);
    }

    private void refreshIfStale() {
        long now = System.nanoTime();
        if (everRead && now - readAtNanos < MAX_AGE.toNanos()) return;
        everRead = true;
        readAtNanos = now;
        try {
            snapshot = source.get().stream().collect(Collectors.toMap(TypeJobCounts::type, counts -> counts));
            if (!readable) log.info("job counts readable again");
            readable = true;
            // A type only the database knows (submitted from another API's file) appears from the next scrape.
            for (String type : snapshot.keySet()) register(type);
        } catch (RuntimeException e) {
            if (readable) log.warn("cannot read job counts for /metrics: {}", e.getMessage());
            readable = false;
        }
    }
}
