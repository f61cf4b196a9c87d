package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What an operator counts in the database is what the worker runs: a RUNNING row is a
 * slot taken, so no snapshot of procq.job ever shows a worker holding more RUNNING rows of
 * a type than the type's concurrency, or more in all than its global cap. Short children
 * make the window between a child's end and its result's write as frequent as it gets.
 */
class RunningMeansRunningTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    private static final int FIRST_CONCURRENCY = 4;
    private static final int SECOND_CONCURRENCY = 2;
    /** Below 4 + 2, so the global cap binds as well as the types' own limits. */
    private static final int GLOBAL_CAP = 5;

    @Test
    void runningRowsNeverExceedTheWorkersSlots() throws Exception {
        String types = """
                types:
                  first:
                    command: ["/bin/true", "{target}"]
                    concurrency: %d
                  second:
                    command: ["/bin/true", "{target}"]
                    concurrency: %d
                """.formatted(FIRST_CONCURRENCY, SECOND_CONCURRENCY);
        try (Procq procq = new Procq(postgres, types, Map.of("PROCQ_WORKER_CONCURRENCY", Integer.toString(GLOBAL_CAP),
                "PROCQ_WORKER_METRICS_PORT", "off")).startApi()) {
            long first = procq.submit("first", targets("a", 1400));
            long second = procq.submit("second", targets("b", 600));
            Sampler sampler = new Sampler(procq);
            Thread sampling = new Thread(sampler, "running-sampler");
            sampling.start();
            try {
                procq.startWorker();
                await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(200)).until(() ->
                        procq.batch(first).get("state").asText().equals("DONE")
                                && procq.batch(second).get("state").asText().equals("DONE"));
            } finally {
                sampler.stop.set(true);
                sampling.join(10_000);
            }
            System.out.printf("running rows: %d samples, at most %s per type and %d per worker (limits %d, %d, cap %d)%n",
                    sampler.samples.get(), sampler.maxPerType, sampler.maxPerWorker.get(),
                    FIRST_CONCURRENCY, SECOND_CONCURRENCY, GLOBAL_CAP);

            assertThat(sampler.failure).isNull();
            assertThat(sampler.samples.get()).as("samples taken while the batches ran").isGreaterThan(100);
            assertThat(sampler.maxPerType.getOrDefault("first", 0)).isBetween(1, FIRST_CONCURRENCY);
            assertThat(sampler.maxPerType.getOrDefault("second", 0)).isBetween(1, SECOND_CONCURRENCY);
            assertThat(sampler.maxPerWorker.get()).isBetween(1L, (long) GLOBAL_CAP);
            List<Map<String, Object>> states = procq.database().jdbi().withHandle(h -> h.createQuery(
                    "SELECT state, count(*) AS jobs FROM procq.job GROUP BY state").mapToMap().list());
            assertThat(states).containsExactly(Map.of("state", "OK", "jobs", 2000L));
        }
    }

    /** Samples the RUNNING rows per worker and type on its own connection, as fast as it can. */
    private static final class Sampler implements Runnable {
        final AtomicBoolean stop = new AtomicBoolean();
        final AtomicLong samples = new AtomicLong();
        final AtomicLong maxPerWorker = new AtomicLong();
        final Map<String, Integer> maxPerType = new HashMap<>();
        volatile Throwable failure;
        private final Procq procq;

        Sampler(Procq procq) {
            this.procq = procq;
        }

        @Override
        public void run() {
            try (Handle handle = procq.database().jdbi().open()) {
                while (!stop.get()) {
                    // One statement, one snapshot: the per-type rows and their sum describe the same moment.
                    List<Map<String, Object>> rows = handle.createQuery("""
                            SELECT worker_id, type, count(*) AS running FROM procq.job
                             WHERE state = 'RUNNING' GROUP BY 1, 2""").mapToMap().list();
                    Map<Object, Long> perWorker = new HashMap<>();
                    synchronized (maxPerType) {
                        for (Map<String, Object> row : rows) {
                            int running = ((Number) row.get("running")).intValue();
                            maxPerType.merge((String) row.get("type"), running, Math::max);
                            perWorker.merge(row.get("worker_id"), (long) running, Long::sum);
                        }
                    }
                    perWorker.values().forEach(total -> maxPerWorker.accumulateAndGet(total, Math::max));
                    samples.incrementAndGet();
                }
            } catch (Throwable e) {
                failure = e;
            }
        }
    }

    private static List<String> targets(String prefix, int count) {
        return IntStream.range(0, count).mapToObj(i -> prefix + i).toList();
    }
}
