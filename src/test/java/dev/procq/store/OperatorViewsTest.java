package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * procq.batch_progress, procq.recent_failures, procq.stuck_jobs and procq.job_key_usage answer
 * the operator's questions. Batches come in through the API; job states are then set with SQL, as a worker
 * (or an operator) would, and the trigger-kept counters follow.
 */
class OperatorViewsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static Procq procq;
    static Jdbi jdbi;
    static long worker;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, "types:\n  echo:\n    command: [\"echo\", \"{target}\"]\n", Map.of()).startApi();
        jdbi = procq.database().jdbi();
        worker = newWorker("interval '0 seconds'", false);
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static long newWorker(String silentFor, boolean stopped) {
        return jdbi.withHandle(h -> h.createQuery("INSERT INTO procq.worker (host, pid, concurrency, types, heartbeat_at, stopped_at) "
                        + "VALUES ('host-a', 4242, 4, '{echo}', now() - " + silentFor + ", CASE WHEN :stopped THEN now() END) RETURNING id")
                .bind("stopped", stopped).mapTo(Long.class).one());
    }

    static List<Long> jobsOf(long batch) {
        return jdbi.withHandle(h -> h.createQuery("SELECT id FROM procq.job WHERE batch_id = :b ORDER BY id")
                .bind("b", batch).mapTo(Long.class).list());
    }

    static void run(long job, long byWorker, String leaseFromNow) {
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET state = 'RUNNING', attempts = attempts + 1, worker_id = ?, "
                + "started_at = now() - interval '90 seconds', lease_expires_at = now() + ?::interval WHERE id = ?",
                byWorker, leaseFromNow, job));
    }

    static void finish(long job, String state, String finishedAgo) {
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET state = ?, lease_expires_at = NULL, error = CASE WHEN ? = 'FAILED' "
                + "THEN 'exit code 2' END, exit_code = CASE WHEN ? = 'FAILED' THEN 2 ELSE 0 END, "
                + "finished_at = now() - ?::interval WHERE id = ?", state, state, state, finishedAgo, job));
    }

    static Map<String, Object> progress(long batch) {
        return jdbi.withHandle(h -> h.createQuery("SELECT * FROM procq.batch_progress WHERE id = :b").bind("b", batch).mapToMap().one());
    }

    @Test
    void batchProgressShowsCountsPercentRateAndTimeLeft() {
        long batch = procq.submit("echo", List.of("a", "b", "c", "d"));
        assertThat(progress(batch)).containsEntry("state", "PENDING").containsEntry("pending", 4L)
                .containsEntry("percent_done", new BigDecimal("0.0"))
                .containsEntry("jobs_per_second", null).containsEntry("eta", null);

        List<Long> jobs = jobsOf(batch);
        run(jobs.get(0), worker, "1 minute");
        run(jobs.get(1), worker, "1 minute");
        finish(jobs.get(1), "OK", "0 seconds");

        Map<String, Object> running = progress(batch);
        assertThat(running).containsEntry("state", "RUNNING").containsEntry("total", 4L).containsEntry("pending", 2L)
                .containsEntry("running", 1L).containsEntry("ok", 1L).containsEntry("failed", 0L)
                .containsEntry("percent_done", new BigDecimal("25.0"));
        assertThat((BigDecimal) running.get("jobs_per_second")).isPositive();
        assertThat(running.get("eta")).as("one done, three to go: there is an estimate").isNotNull();

        finish(jobs.get(0), "FAILED", "0 seconds");
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET state = 'CANCELLED', finished_at = now() WHERE batch_id = ? AND state = 'PENDING'", batch));
        Map<String, Object> done = progress(batch);
        assertThat(done).containsEntry("state", "DONE").containsEntry("percent_done", new BigDecimal("100.0"))
                .containsEntry("ok", 1L).containsEntry("failed", 1L).containsEntry("cancelled", 2L).containsEntry("eta", null);
        assertThat(done.get("finished_at")).isNotNull();
    }

    @Test
    void recentFailuresListTheLastDaysFailuresWithTheirOutput() {
        long batch = procq.submit("echo", List.of("fresh", "stale", "fine"));
        List<Long> jobs = jobsOf(batch);
        for (long job : jobs) run(job, worker, "1 minute");
        jdbi.useHandle(h -> h.execute("""
                INSERT INTO procq.job_attempt (job_id, attempt, worker_id, started_at, finished_at, outcome, exit_code,
                                               duration_ms, error, output_tail)
                VALUES (?, 1, ?, now(), now(), 'FAILED', 2, 10, 'exit code 2', 'convert: no such file')""", jobs.get(0), worker));
        finish(jobs.get(0), "FAILED", "1 minute");
        finish(jobs.get(1), "FAILED", "2 days");
        finish(jobs.get(2), "OK", "1 minute");

        List<Map<String, Object>> failures = jdbi.withHandle(h -> h.createQuery(
                "SELECT * FROM procq.recent_failures WHERE batch_id = :b").bind("b", batch).mapToMap().list());

        assertThat(failures).hasSize(1);
        assertThat(failures.get(0)).containsEntry("target", "fresh").containsEntry("error", "exit code 2")
                .containsEntry("exit_code", 2).containsEntry("output_tail", "convert: no such file")
                .containsEntry("job_id", jobs.get(0));
    }

    @Test
    void stuckJobsNameWhyTheyLookStuck() {
        long quiet = newWorker("interval '5 minutes'", false);
        long stopped = newWorker("interval '0 seconds'", true);
        long batch = procq.submit("echo", List.of("healthy", "expired", "orphaned", "silent"));
        List<Long> jobs = jobsOf(batch);
        run(jobs.get(0), worker, "1 minute");
        run(jobs.get(1), worker, "-5 seconds");
        run(jobs.get(2), stopped, "1 minute");
        run(jobs.get(3), quiet, "1 minute");

        List<Map<String, Object>> stuck = jdbi.withHandle(h -> h.createQuery(
                "SELECT target, why, worker_id, host, pid FROM procq.stuck_jobs WHERE batch_id = :b ORDER BY job_id")
                .bind("b", batch).mapToMap().list());

        assertThat(stuck).extracting(row -> row.get("target") + ": " + row.get("why")).containsExactly(
                "expired: lease expired", "orphaned: worker stopped", "silent: worker heartbeat late");
        assertThat(stuck.get(2)).containsEntry("worker_id", quiet).containsEntry("host", "host-a").containsEntry("pid", 4242L);
    }

    @Test
    void keyUsageCountsRunningJobsAndTheLastMinutesStarts() {
        long batch = procq.submit("echo", List.of("running", "retried", "old"));
        List<Long> jobs = jobsOf(batch);
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET key = 'host-1' WHERE batch_id = ?", batch));
        run(jobs.get(0), worker, "1 minute"); // started 90 seconds ago, running still
        run(jobs.get(1), worker, "1 minute");
        finish(jobs.get(1), "OK", "0 seconds");
        attempt(jobs.get(1), 1, "5 seconds", "4 seconds", "FAILED");
        attempt(jobs.get(1), 2, "3 seconds", "2 seconds", "OK");
        run(jobs.get(2), worker, "1 minute");
        finish(jobs.get(2), "OK", "0 seconds");
        attempt(jobs.get(2), 1, "3 minutes", "2 minutes", "OK");

        Map<String, Object> usage = jdbi.withHandle(h -> h.createQuery(
                "SELECT running, started_last_minute, starts_per_second FROM procq.job_key_usage WHERE key = 'host-1'")
                .mapToMap().one());

        // Both attempts of the retried job count as starts; the old one and the 90-second runner do not.
        assertThat(usage).containsEntry("running", 1L).containsEntry("started_last_minute", 2L)
                .containsEntry("starts_per_second", new BigDecimal("0.2"));
    }

    static void attempt(long job, int attempt, String startedAgo, String finishedAgo, String outcome) {
        jdbi.useHandle(h -> h.execute("INSERT INTO procq.job_attempt (job_id, attempt, worker_id, started_at, finished_at, "
                + "outcome, duration_ms) VALUES (?, ?, ?, now() - ?::interval, now() - ?::interval, ?, 1000)",
                job, attempt, worker, startedAgo, finishedAgo, outcome));
    }
}
