package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * procq.job_rate does not grow without bound: a running worker deletes the rows whose next start
 * passed long ago, and keeps those a rate still counts (or just counted).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RatePrunerTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              healthcheck:
                command: ["echo", "{target}"]
                key: {regex: '^https?://([^/:]+)'}
                keyRate: 10
            """;

    static Procq procq;
    static Jdbi jdbi;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_METRICS_PORT", "off"));
        jdbi = procq.database().jdbi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static List<String> keys() {
        return jdbi.withHandle(h -> h.createQuery("SELECT key FROM procq.job_rate ORDER BY key").mapTo(String.class).list());
    }

    @Test
    @Order(2)
    void aWorkerDeletesRowsThatHoldNothingBackAndKeepsRecentOnes() throws Exception {
        jdbi.useHandle(h -> h.execute("""
                INSERT INTO procq.job_rate (type, key, next_start_at) VALUES
                    ('healthcheck', 'idle-for-an-hour', now() - interval '1 hour'),
                    ('healthcheck', 'idle-for-two-minutes', now() - interval '2 minutes'),
                    ('healthcheck', '', now() - interval '1 day'),
                    ('healthcheck', 'started-seconds-ago', now() - interval '5 seconds'),
                    ('healthcheck', 'holding-back-now', now() + interval '30 seconds')"""));

        procq.startWorker();

        await().atMost(RatePruner.FIRST_RUN_DELAY.plusSeconds(20)).pollInterval(Duration.ofMillis(200))
                .until(() -> !keys().contains("idle-for-an-hour"));
        assertThat(keys()).containsExactly("holding-back-now", "started-seconds-ago");
    }

    /** Runs first: the worker the other test starts would prune these rows too. */
    @Test
    @Order(1)
    void aRunReportsWhenRowsAreLeftForTheNext() {
        jdbi.useHandle(h -> h.execute("""
                INSERT INTO procq.job_rate (type, key, next_start_at)
                SELECT 'many', 'k' || i, now() - interval '1 hour' FROM generate_series(1, ?) i""",
                RatePruner.ROWS_PER_RUN + 5));
        RatePruner pruner = new RatePruner(jdbi);

        assertThat(pruner.runOnce()).isEqualTo(RatePruner.INTERVAL_WHEN_BEHIND);
        assertThat(pruner.runOnce()).isEqualTo(RatePruner.INTERVAL);
        int left = jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM procq.job_rate WHERE type = 'many'")
                .mapTo(Integer.class).one());
        assertThat(left).isZero();
    }
}
