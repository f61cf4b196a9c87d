package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.testing.PostgresExtension;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The job state machine of docs/state-machine.md, checked where it lives: in the statements of
 * {@link JobDao}. For each source state, a job is brought there through the real statements, then
 * every statement that writes {@code procq.job.state} is tried on a fresh such job; the moves that
 * changed its state must be exactly the documented ones, and every other write must change nothing.
 */
class JobTransitionsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    private static final long LEASE_MILLIS = Duration.ofMinutes(1).toMillis();
    private static final int MAX_ATTEMPTS = 3;
    private static final AtomicInteger TYPES = new AtomicInteger();

    /** What each statement may do to a job in each state; any statement not named must leave it as it is. */
    private static final Map<JobState, Map<String, JobState>> DOCUMENTED = Map.of(
            JobState.PENDING, Map.of(
                    "FINISH_IF_RUNNING_AND_CLAIM claiming", JobState.RUNNING,
                    "claimPending", JobState.RUNNING,
                    "cancelPendingOfBatch", JobState.CANCELLED),
            JobState.RUNNING, Map.of(
                    "FINISH_IF_RUNNING_AND_CLAIM by the holder: OK", JobState.OK,
                    "FINISH_IF_RUNNING_AND_CLAIM by the holder: FAILED", JobState.FAILED,
                    "FINISH_IF_RUNNING_AND_CLAIM by the holder: PENDING", JobState.PENDING,
                    "FINISH_IF_RUNNING_AND_CLAIM by the holder: CANCELLED", JobState.CANCELLED,
                    "rescueExpiredLeases of an expired lease", JobState.PENDING,
                    "rescueExpiredLeases of the last lease allowed to expire", JobState.FAILED,
                    "releaseAllHeldBy the holder", JobState.PENDING),
            JobState.OK, Map.of(),
            JobState.FAILED, Map.of(
                    "retryFailedOfBatch", JobState.PENDING),
            JobState.CANCELLED, Map.of());

    /** One job of a type of its own, so a claim takes nothing else, held (once claimed) by a worker of its own. */
    private record Job(String type, long batch, long id, long holder) {
        JobState state() {
            return jdbi().withHandle(h -> h.createQuery("SELECT state FROM procq.job WHERE id = :id")
                    .bind("id", id).mapTo(JobState.class).one());
        }

        int attempts() {
            return jdbi().withHandle(h -> h.createQuery("SELECT attempts FROM procq.job WHERE id = :id")
                    .bind("id", id).mapTo(Integer.class).one());
        }
    }

    private static Jdbi jdbi() {
        return postgres.database().jdbi();
    }

    /** Every statement that writes a job's state, each as one move on one job. */
    private static Map<String, Consumer<Job>> moves() {
        Map<String, Consumer<Job>> moves = new LinkedHashMap<>();
        moves.put("FINISH_IF_RUNNING_AND_CLAIM claiming", job -> claim(job.type(), worker(job.type())));
        moves.put("claimPending", job -> jobs(dao -> dao.claimPending(job.type(), 1, worker(job.type()), LEASE_MILLIS)));
        for (JobState next : new JobState[] {JobState.OK, JobState.FAILED, JobState.PENDING, JobState.CANCELLED}) {
            moves.put("FINISH_IF_RUNNING_AND_CLAIM by the holder: " + next, job -> finish(job, job.holder(), job.attempts(), next));
        }
        moves.put("FINISH_IF_RUNNING_AND_CLAIM by another worker", job -> finish(job, worker(job.type()), job.attempts(), JobState.OK));
        moves.put("FINISH_IF_RUNNING_AND_CLAIM of an earlier attempt", job -> finish(job, job.holder(), job.attempts() - 1, JobState.OK));
        moves.put("renewLeases by the holder", job -> jobs(dao -> dao.renewLeases(job.holder(), new Long[] {job.id()}, LEASE_MILLIS)));
        moves.put("rescueExpiredLeases of a fresh lease", job -> jobs(dao -> dao.rescueExpiredLeases(10, 3, true, 0)));
        moves.put("rescueExpiredLeases of an expired lease", job -> {
            expireLease(job);
            jobs(dao -> dao.rescueExpiredLeases(10, 3, true, 0));
        });
        moves.put("rescueExpiredLeases of the last lease allowed to expire", job -> {
            expireLease(job);
            jobs(dao -> dao.rescueExpiredLeases(10, 1, true, 0));
        });
        moves.put("releaseAllHeldBy the holder", job -> jobs(dao -> dao.releaseAllHeldBy(job.holder())));
        moves.put("cancelPendingOfBatch", job -> jobs(dao -> dao.cancelPendingOfBatch(job.batch())));
        moves.put("retryFailedOfBatch", job -> jobs(dao -> dao.retryFailedOfBatch(job.batch(), MAX_ATTEMPTS)));
        return moves;
    }

    @ParameterizedTest
    @EnumSource(JobState.class)
    void fromEachStateOnlyTheDocumentedStatementsMoveAJob(JobState source) throws SQLException {
        Map<String, JobState> reached = new LinkedHashMap<>();
        for (Map.Entry<String, Consumer<Job>> move : moves().entrySet()) {
            Job job = jobIn(source);
            move.getValue().accept(job);
            JobState after = job.state();
            if (after != source) reached.put(move.getKey(), after);
        }
        assertThat(reached).isEqualTo(DOCUMENTED.get(source));
    }

    @Test
    void theHolderCannotWriteAResultThatLeavesTheJobRunning() throws SQLException {
        Job job = jobIn(JobState.RUNNING);
        // The CHECK ties RUNNING to a lease, and every result clears the lease.
        assertThatThrownBy(() -> finish(job, job.holder(), job.attempts(), JobState.RUNNING))
                .hasMessageContaining("job_check");
        assertThat(job.state()).isEqualTo(JobState.RUNNING);
    }

    /** A job brought to {@code state} by the statements that make it so in production. */
    private static Job jobIn(JobState state) throws SQLException {
        String type = "transitions" + TYPES.incrementAndGet();
        long holder = worker(type);
        long batch = jdbi().inTransaction(handle -> {
            long id = handle.attach(BatchDao.class).insertUnlessKeyUsed(type, 0, null).orElseThrow();
            try (JobCopyWriter writer = new JobCopyWriter(handle, id, type, 0, MAX_ATTEMPTS, Duration.ofSeconds(10))) {
                writer.add("target", null, null);
                handle.attach(BatchDao.class).setTotal(id, writer.finish());
            }
            return id;
        });
        long id = jdbi().withHandle(h -> h.createQuery("SELECT id FROM procq.job WHERE batch_id = :b")
                .bind("b", batch).mapTo(Long.class).one());
        Job job = new Job(type, batch, id, holder);
        switch (state) {
            case PENDING -> { }
            case RUNNING -> claim(type, holder);
            case OK, FAILED -> {
                claim(type, holder);
                finish(job, holder, job.attempts(), state);
            }
            case CANCELLED -> jobs(dao -> dao.cancelPendingOfBatch(batch));
        }
        assertThat(job.state()).as("the job was brought to its source state").isEqualTo(state);
        return job;
    }

    private static long worker(String type) {
        return jdbi().withExtension(WorkerDao.class, dao -> dao.register("transitions-host", 1, 1, new String[] {type}));
    }

    private static void jobs(Consumer<JobDao> statement) {
        jdbi().useExtension(JobDao.class, statement::accept);
    }

    /** A worker's claim of one slot of {@code type}, written as the completer writes it, with no results. */
    private static void claim(String type, long worker) {
        new ClaimRoundTrip(jdbi(), worker, LEASE_MILLIS, 1).run(List.of(), new String[] {type}, new Integer[] {1}, 1);
    }

    /** A worker's result for one attempt, written as the completer writes it, claiming nothing. */
    private static void finish(Job job, long worker, int attempt, JobState next) {
        AttemptResult result = new AttemptResult(job.id(), attempt, next, next == JobState.OK ? Outcome.OK : Outcome.FAILED,
                0, null, null, null, OffsetDateTime.now(), Duration.ofMillis(1), Duration.ZERO, false, null, null, null,
                null);
        new ClaimRoundTrip(jdbi(), worker, LEASE_MILLIS, 1).run(List.of(result), new String[0], new Integer[0], 0);
    }

    /** The holder went quiet: its lease is in the past. Touches only RUNNING rows, which alone have a lease. */
    private static void expireLease(Job job) {
        jdbi().useHandle(h -> h.execute(
                "UPDATE procq.job SET lease_expires_at = now() - interval '1 second' WHERE id = ? AND state = 'RUNNING'",
                job.id()));
    }
}
