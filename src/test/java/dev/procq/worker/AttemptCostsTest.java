package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.config.JobTypes;
import dev.procq.pool.ChildResult;
import dev.procq.pool.ResourceUsage;
import dev.procq.store.ClaimedJob;
import dev.procq.store.JobState;
import dev.procq.testing.PostgresExtension;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a child cost reaches procq.job_attempt through the worker's write path (Verdict, Completer,
 * ClaimRoundTrip), and an unknown cost stays NULL instead of becoming 0.
 */
class AttemptCostsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final JobTypes TYPES = JobTypes.parse("""
            types:
              costed:
                command: ["true", "{target}"]
                maxAttempts: 1
              # Its own type: the job this test's rescuer returns to PENDING must not be claimed by another test.
              contested:
                command: ["true", "{target}"]
            """, "attempt costs test");

    static Jdbi jdbi;
    static RecordedAttempts attempts;

    @BeforeAll
    static void start() {
        jdbi = postgres.database().jdbi();
        attempts = new RecordedAttempts(postgres.database(), TYPES);
    }

    static long submitOne() {
        return submitOne("costed");
    }

    static long submitOne(String type) {
        return jdbi.withHandle(h -> {
            long batch = h.createQuery("INSERT INTO procq.batch (type, total) VALUES (:t, 1) RETURNING id")
                    .bind("t", type).mapTo(Long.class).one();
            return h.createQuery("INSERT INTO procq.job (batch_id, type, target) VALUES (:b, :t, 'x') RETURNING id")
                    .bind("b", batch).bind("t", type).mapTo(Long.class).one();
        });
    }

    static Map<String, Object> attemptRow(long job) {
        return jdbi.withHandle(h -> new HashMap<>(h.createQuery("""
                SELECT outcome, cpu_user_ms, cpu_system_ms, max_rss_kb FROM procq.job_attempt WHERE job_id = :j""")
                .bind("j", job).mapToMap().one()));
    }

    @Test
    void aFinishedAttemptRecordsItsCpuInMillisecondsAndItsPeakMemory() throws Exception {
        submitOne();
        // 12.345 ms user, 3.999 ms system: stored as whole milliseconds, rounded down as the kernel's own tools do.
        long job = attempts.finishNext("costed", RecordedAttempts.exited(0, new ResourceUsage(12_345, 3_999, 4_198)));

        assertThat(attemptRow(job)).containsEntry("outcome", "OK").containsEntry("cpu_user_ms", 12L)
                .containsEntry("cpu_system_ms", 3L).containsEntry("max_rss_kb", 4_198L);
    }

    @Test
    void aFailedAttemptKeepsItsCostToo() throws Exception {
        submitOne();
        long job = attempts.finishNext("costed", RecordedAttempts.exited(3, new ResourceUsage(2_500_000, 750_000, 1_048_576)));

        assertThat(attemptRow(job)).containsEntry("outcome", "FAILED").containsEntry("cpu_user_ms", 2_500L)
                .containsEntry("cpu_system_ms", 750L).containsEntry("max_rss_kb", 1_048_576L);
    }

    @Test
    void anUnknownCostIsNullNotZero() throws Exception {
        submitOne();
        long job = attempts.finishNext("costed", RecordedAttempts.exited(0, null));

        assertThat(attemptRow(job)).containsEntry("outcome", "OK").containsEntry("cpu_user_ms", null)
                .containsEntry("cpu_system_ms", null).containsEntry("max_rss_kb", null);
    }

    @Test
    void aChildThatNeverStartedOrWasHandedBackHasNoCost() throws Exception {
        submitOne();
        ClaimedJob unrunnable = attempts.claim("costed");
        attempts.write(Verdict.unrunnable(unrunnable, "missing {meta.size}"));
        assertThat(attemptRow(unrunnable.id())).containsEntry("outcome", "SPAWN_FAILED").containsEntry("cpu_user_ms", null)
                .containsEntry("max_rss_kb", null);

        submitOne();
        ClaimedJob handedBack = attempts.claim("costed");
        attempts.write(Verdict.handedBack(handedBack));
        assertThat(attemptRow(handedBack.id())).containsEntry("outcome", "STOPPED").containsEntry("cpu_system_ms", null)
                .containsEntry("max_rss_kb", null);
    }

    @Test
    void verdictCarriesTheCostOfEveryEndingItDecides() {
        ClaimedJob job = new ClaimedJob(1, 1, "costed", "x", null, 1, 1, null, null);
        ResourceUsage usage = new ResourceUsage(9_000, 1_000, 512);
        for (ChildResult.Outcome outcome : ChildResult.Outcome.values()) {
            ChildResult result = new ChildResult(outcome, null, null, Duration.ofMillis(5), "ended", "", usage);
            assertThat(Verdict.of(job, TYPES.find("costed").orElseThrow(), result, null))
                    .as(outcome.name())
                    .satisfies(r -> {
                        assertThat(r.cpuUserMs()).isEqualTo(9L);
                        assertThat(r.cpuSystemMs()).isEqualTo(1L);
                        assertThat(r.maxRssKb()).isEqualTo(512L);
                    });
        }
    }

    @Test
    void aWorkerThatLostTheJobWritesNeitherResultNorCost() throws Exception {
        long job = submitOne("contested");
        ClaimedJob stale = attempts.claim("contested");
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET lease_expires_at = now() - interval '1 second' WHERE id = ?", job));
        assertThat(new Rescuer(jdbi, Duration.ZERO).runOnce()).contains(job);

        // The old holder's result arrives late, with a cost: the fence keeps it out, and the rescuer's row stays.
        attempts.write(Verdict.of(stale, TYPES.find("contested").orElseThrow(),
                RecordedAttempts.exited(0, new ResourceUsage(50_000, 50_000, 100)), null));

        assertThat(attemptRow(job)).containsEntry("outcome", "LEASE_EXPIRED").containsEntry("cpu_user_ms", null)
                .containsEntry("max_rss_kb", null);
        String state = jdbi.withHandle(h -> h.select("SELECT state FROM procq.job WHERE id = ?", job).mapTo(String.class).one());
        assertThat(state).isEqualTo(JobState.PENDING.name());
    }
}
