package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procq.testing.PostgresExtension;
import java.util.ArrayList;
import java.util.List;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The throughput charts (GET /api/v1/throughput on the dashboard's list page, and a batch's) are
 * planned for the last hour's rows, not for a third of the table. When the hour's start came from
 * a subquery the planner could not see it, took the default third of every finished row, and at
 * 10,000,000 rows the estimated cost passed jit_above_cost: the statement read 4 index pages and
 * spent 216 ms compiling itself (B10 in docs/benchmarks.md). The test counts the rows the plan
 * expects from procq.job against the rows there are.
 */
class ThroughputPlanTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final int OLD = 20_000;
    static final int RECENT = 30;
    static Jdbi jdbi;
    static long batch;

    @BeforeAll
    static void setUp() {
        jdbi = postgres.database().jdbi();
        jdbi.useHandle(h -> {
            h.execute("TRUNCATE procq.job, procq.batch, procq.job_attempt, procq.webhook_delivery, procq.webhook_attempt");
            batch = h.createQuery("INSERT INTO procq.batch (type, total) VALUES ('plan', :n) RETURNING id")
                    .bind("n", OLD + RECENT).mapTo(Long.class).one();
            // Finished two days ago, and RECENT of them (one in three FAILED) in the last few minutes.
            h.execute("""
                    INSERT INTO procq.job (batch_id, type, target, state, finished_at)
                    SELECT ?, 'plan', 'target-' || g, CASE WHEN g % 3 = 0 THEN 'FAILED' ELSE 'OK' END,
                           CASE WHEN g <= ? THEN now() - g * interval '5 seconds' ELSE now() - interval '2 days' END
                      FROM generate_series(1, ?) g""", batch, RECENT, OLD + RECENT);
            h.execute("ANALYZE procq.job");
        });
    }

    @Test
    void theQueuesLastHourIsPlannedForTheRowsItHas() throws Exception {
        assertThat(jobRowsPlanned(JobDao.THROUGHPUT_HEAD + JobDao.THROUGHPUT_TAIL)).isLessThanOrEqualTo(10L * RECENT);
        List<ThroughputBucket> buckets = jdbi.withExtension(JobDao.class, JobDao::throughput);
        assertThat(buckets).hasSize(60);
        assertThat(buckets.stream().mapToLong(b -> b.ok() + b.failed()).sum()).isEqualTo(RECENT);
    }

    @Test
    void aBatchsLastHourToo() throws Exception {
        String sql = JobDao.THROUGHPUT_HEAD + "AND batch_id = " + batch + "\n" + JobDao.THROUGHPUT_TAIL;
        assertThat(jobRowsPlanned(sql)).isLessThanOrEqualTo(10L * RECENT);
        List<ThroughputBucket> buckets = jdbi.withExtension(JobDao.class, dao -> dao.throughputOfBatch(batch));
        assertThat(buckets.stream().mapToLong(ThroughputBucket::failed).sum()).isEqualTo(RECENT / 3);
    }

    /** The rows the plan expects from its scans of procq.job, summed. */
    private static long jobRowsPlanned(String sql) throws Exception {
        String json = jdbi.withHandle(h -> h.createQuery("EXPLAIN (FORMAT JSON) " + sql).mapTo(String.class).one());
        List<JsonNode> scans = new ArrayList<>();
        collectScansOfJob(new ObjectMapper().readTree(json).get(0).get("Plan"), scans);
        assertThat(scans).as("scans of procq.job in %s", json).isNotEmpty();
        return scans.stream().mapToLong(scan -> scan.get("Plan Rows").asLong()).sum();
    }

    private static void collectScansOfJob(JsonNode plan, List<JsonNode> scans) {
        if ("job".equals(plan.path("Relation Name").asText(null))) scans.add(plan);
        for (JsonNode child : plan.path("Plans")) collectScansOfJob(child, scans);
    }
}
