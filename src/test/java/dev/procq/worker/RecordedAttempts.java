package dev.procq.worker;

import dev.procq.config.JobType;
import dev.procq.config.JobTypes;
import dev.procq.pool.ChildResult;
import dev.procq.pool.ResourceUsage;
import dev.procq.store.AttemptResult;
import dev.procq.store.ClaimedJob;
import dev.procq.store.Database;
import dev.procq.store.JobDao;
import dev.procq.store.WorkerDao;
import java.time.Duration;
import java.util.List;
import org.jdbi.v3.core.Jdbi;

/**
 * Ends jobs with child results a test chooses, through the worker's own path: a claim
 * ({@code JobDao.claimPending}), {@link Verdict}, the {@link Completer} and its round trip
 * ({@code ClaimRoundTrip}, claiming nothing). A test chooses exact CPU and memory
 * figures this way, and writes them into procq.job_attempt the way a worker would.
 *
 * <p>It registers a worker row of its own. Give it types that no running worker of the test
 * knows, so nobody else claims its jobs.
 */
public final class RecordedAttempts {
    /** Long enough that no rescuer takes a job back while a test looks at it. */
    static final Duration LEASE = Duration.ofMinutes(5);

    private final Jdbi jdbi;
    private final JobTypes types;
    private final long workerId;

    public RecordedAttempts(Database database, JobTypes types) {
        this.jdbi = database.jdbi();
        this.types = types;
        this.workerId = jdbi.withExtension(WorkerDao.class, dao -> dao.register("recorded-attempts",
                ProcessHandle.current().pid(), 1, types.names().toArray(String[]::new)));
    }

    /**
     * {@code typesYaml} (a job-types file whose types sit under {@code types:}) plus "costed",
     * a type no worker runs: an API that knows it accepts batches whose attempts only a
     * RecordedAttempts ends.
     */
    public static String withCostedType(String typesYaml) {
        return typesYaml + """
                  costed:
                    command: ["true", "{target}"]
                """;
    }

    /** Ends the jobs of an API started with {@code typesYaml}. */
    public static RecordedAttempts of(dev.procq.testing.Procq api, String typesYaml) {
        return new RecordedAttempts(api.database(), JobTypes.parse(typesYaml, "recorded attempts"));
    }

    public long workerId() {
        return workerId;
    }

    /** A child that exited by itself with this code, having cost {@code usage} (null: unknown). */
    public static ChildResult exited(int exitCode, ResourceUsage usage) {
        return new ChildResult(ChildResult.Outcome.EXITED, exitCode, null, Duration.ofMillis(250),
                exitCode == 0 ? null : "exit code " + exitCode, "output of a child that exited with " + exitCode + "\n",
                usage);
    }

    /** Claims the next job of {@code type} and ends its attempt as {@code result} says; returns the job's id. */
    public long finishNext(String type, ChildResult result) throws InterruptedException {
        JobType jobType = types.find(type).orElseThrow(() -> new IllegalArgumentException("unknown type " + type));
        ClaimedJob job = claim(type);
        write(Verdict.of(job, jobType, result, null));
        return job.id();
    }

    /** Claims exactly one job of {@code type}. */
    public ClaimedJob claim(String type) {
        List<ClaimedJob> claimed = jdbi.withExtension(JobDao.class,
                dao -> dao.claimPending(type, 1, workerId, LEASE.toMillis()));
        if (claimed.size() != 1) throw new IllegalStateException("no PENDING job of type " + type + " to claim");
        return claimed.get(0);
    }

    /** Hands the result to a Completer of this worker and returns once it is written. */
    public void write(AttemptResult result) throws InterruptedException {
        Completer completer = new Completer(jdbi, workerId, LEASE);
        completer.add("recorded", result);
        completer.writeAndClaim(completer.gather(false, () -> true), Claims.NONE);
    }
}
