package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procq.api.ApiServer;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.metrics.Metrics;
import dev.procq.store.Database;
import dev.procq.testing.ReplicatedPostgres;
import dev.procq.testing.WorkerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real failover under a running API and two worker JVMs: the primary of a synchronously
 * replicated pair is killed (pg_ctl stop -m immediate) while a batch runs and submissions keep
 * coming, and the standby is promoted once every lease the primary handed out has run out; a
 * third worker starts during the outage. procq is only ever given both servers in one URL, and
 * nothing of it is restarted. The servers are this test's own, built from the machine's
 * PostgreSQL binaries; the shared one is not touched.
 */
class FailoverTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int FIRST_BATCH = 300;
    static final int SMALL_BATCH = 5;
    /** Short, so that leases run out during the outage, and rescue after it comes within the test. */
    static final String LEASE = "3s";
    static final Duration SETTLE = Duration.ofSeconds(3).plus(Rescuer.RECONNECT_MARGIN);

    @TempDir
    Path dir;

    ReplicatedPostgres servers;
    Database apiDatabase;
    Database checks;
    ApiServer api;
    final List<WorkerProcess> workers = new ArrayList<>();
    Submitter submitter;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void tearDown() throws Exception {
        if (submitter != null) submitter.stop();
        workers.forEach(WorkerProcess::close);
        if (api != null) api.close();
        if (apiDatabase != null) apiDatabase.close();
        if (checks != null) checks.close();
        if (servers != null) servers.close();
    }

    @Test
    @Timeout(value = 110, unit = TimeUnit.SECONDS)
    void aPromotedStandbyTakesOverWithoutLosingACommittedTargetOrRestartingProcq() throws Exception {
        Optional<Path> bin = ReplicatedPostgres.binaries();
        Assumptions.assumeTrue(bin.isPresent(), "no PostgreSQL server binaries under /usr/lib/postgresql");
        servers = ReplicatedPostgres.start(bin.get());
        String url = servers.multiHostUrl();

        Path ran = dir.resolve("ran.txt");
        String types = """
                types:
                  step:
                    command: ["sh", "-c", "echo \\"$1\\" >> \\"$2\\"; sleep 0.2", "step", "{target}", "%s"]
                    concurrency: 8
                    timeout: 30s
                """.formatted(ran);
        Path jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, types);
        Settings settings = new Settings(Map.of("PROCQ_DATABASE_URL", url, "PROCQ_DATABASE_USER", ReplicatedPostgres.USER,
                "PROCQ_HTTP_PORT", "0"));
        apiDatabase = new Database(settings.requireDatabase("api"), "api", 4, settings.databaseTimeouts());
        apiDatabase.migrate();
        api = new ApiServer(settings, apiDatabase, JobTypes.parse(types, "test"), new Metrics("test")).start();
        checks = new Database(settings.requireDatabase("test"), "checks", 2);
        Jdbi jdbi = checks.jdbi();

        Map<String, String> env = new HashMap<>(Map.of("PROCQ_DATABASE_URL", url,
                "PROCQ_DATABASE_USER", ReplicatedPostgres.USER, "PROCQ_JOB_TYPES", jobTypes.toString(),
                "PROCQ_WORKER_CONCURRENCY", "8", "PROCQ_LEASE", LEASE, "PROCQ_KILL_GRACE", "500ms",
                "PROCQ_SHUTDOWN_GRACE", "2s"));
        for (int i = 0; i < 2; i++) workers.add(WorkerProcess.start("failover-" + i, env));
        for (WorkerProcess worker : workers) worker.awaitRegistered(jdbi);

        List<String> firstTargets = new ArrayList<>();
        for (int i = 0; i < FIRST_BATCH; i++) firstTargets.add("first-" + i);
        HttpResponse<String> created = post(Map.of("type", "step", "targets", firstTargets));
        assertThat(created.statusCode()).isEqualTo(202);
        long firstBatch = JSON.readTree(created.body()).get("id").asLong();
        submitter = new Submitter();
        submitter.start();

        // A fifth of the way in: children run, results are being written, batches keep coming.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(50))
                .until(() -> okCount(jdbi, firstBatch) >= FIRST_BATCH / 5);
        long stoppedNanos = System.nanoTime();
        Instant stoppedAt = Instant.now();
        servers.stopPrimaryImmediately();
        // A worker started during the outage: its rescuer never saw the database go, and the
        // server it first meets, the promoted standby, started long ago.
        workers.add(WorkerProcess.start("failover-latecomer", env));
        // The HA tool's detection time, in which every lease the primary granted runs out: the
        // standby (read-only, but readable) shows the last leases the primary committed.
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> allLeasesExpired(servers.standbyPort()));
        long promotingNanos = System.nanoTime();
        servers.promoteStandby();
        long promotedNanos = System.nanoTime();
        Instant promotedAt = Instant.now();
        // A rescuer that never saw the outage, running the moment the standby takes writes: every
        // lease has run out, and their holders are alive but may not have renewed yet.
        assertThat(new Rescuer(jdbi, SETTLE).runOnce()).as("rescued before the holders could renew").isEmpty();

        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(20))
                .until(() -> submitter.firstAcceptedAfter(stoppedNanos).isPresent());
        double firstWrite = seconds(submitter.firstAcceptedAfter(stoppedNanos).orElseThrow() - stoppedNanos);
        OffsetDateTime firstFinish = await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .ignoreExceptions().until(() -> firstFinishedAfter(jdbi, stoppedAt), found -> found != null);
        double firstJob = Duration.between(stoppedAt, firstFinish.toInstant()).toNanos() / 1e9;

        // Every worker's LISTEN connection is back, on the new primary.
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100)).ignoreExceptions()
                .until(() -> listeners(jdbi) == workers.size());
        double listening = seconds(System.nanoTime() - stoppedNanos);
        // Submissions go on after the promotion for a while, then stop.
        await().atMost(Duration.ofSeconds(30)).until(() -> submitter.acceptedAfter(promotedNanos) >= 10);
        submitter.stop();

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> unfinished(jdbi) == 0);
        double allDone = seconds(System.nanoTime() - stoppedNanos);

        System.out.printf("recovery: failover: primary stopped; standby promoted %.1fs later (once every lease had run out),"
                        + " promotion took %.2fs%n", seconds(promotingNanos - stoppedNanos),
                seconds(promotedNanos - promotingNanos));
        System.out.printf("recovery: failover: first API write (202) %.1fs after the stop (%.1fs after the promotion),"
                        + " first job finished on the new primary %.1fs after the stop (%.1fs after the promotion)%n",
                firstWrite, firstWrite - seconds(promotedNanos - stoppedNanos), firstJob,
                firstJob - seconds(promotedNanos - stoppedNanos));
        System.out.printf("recovery: failover: every worker listening again %.1fs after the stop; every job finished"
                + " %.1fs after the stop%n", listening, allDone);

        // Every batch that was answered 202 is there, with every one of its targets.
        List<Submission> accepted = submitter.accepted();
        for (Submission submission : accepted) {
            List<String> stored = jdbi.withHandle(h -> h.createQuery(
                    "SELECT target FROM procq.job WHERE batch_id = :b ORDER BY id").bind("b", submission.batchId())
                    .mapTo(String.class).list());
            assertThat(stored).as("batch %d", submission.batchId()).containsExactlyElementsOf(submission.targets());
        }
        assertThat(accepted).as("submissions accepted after the promotion")
                .filteredOn(s -> s.sentNanos() > promotedNanos).hasSizeGreaterThanOrEqualTo(10);
        assertThat(submitter.statuses()).as("answers to the submissions: accepted, or the database is unavailable")
                .isSubsetOf(202, 503);
        assertThat(okCount(jdbi, firstBatch)).isEqualTo(FIRST_BATCH);

        // Every job OK, nothing left RUNNING; every target run exactly once by its child.
        Map<String, Object> table = jdbi.withHandle(h -> h.createQuery("""
                SELECT count(*) AS jobs, count(*) FILTER (WHERE state = 'OK') AS ok,
                       (SELECT count(*) FROM procq.job_attempt WHERE outcome = 'LEASE_EXPIRED') AS rescued
                  FROM procq.job""").mapToMap().one());
        assertThat(table.get("ok")).isEqualTo(table.get("jobs"));
        List<String> allTargets = jdbi.withHandle(h -> h.createQuery("SELECT target FROM procq.job")
                .mapTo(String.class).list());
        Map<String, Long> runs = Files.readAllLines(ran).stream()
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        assertThat(runs.keySet()).containsExactlyInAnyOrderElementsOf(allTargets);
        assertThat(runs).as("targets whose child ran more than once").allSatisfy((target, count) -> assertThat(count).isOne());

        // Rescue held back after the promotion, as after a restart: the standby's postmaster
        // started long before, so the new timeline is what told the rescuers.
        OffsetDateTime timelineSeen = jdbi.withHandle(h -> h.createQuery(
                "SELECT first_seen_at FROM procq.timeline WHERE id = 2").mapTo(OffsetDateTime.class).one());
        assertThat(timelineSeen.toInstant()).isAfter(promotedAt.minusSeconds(1));
        Optional<OffsetDateTime> firstRescue = jdbi.withHandle(h -> h.createQuery(
                "SELECT min(finished_at) FROM procq.job_attempt WHERE outcome = 'LEASE_EXPIRED'")
                .mapTo(OffsetDateTime.class).findOne());
        firstRescue.ifPresent(at -> assertThat(at.toInstant()).isAfterOrEqualTo(timelineSeen.toInstant().plus(SETTLE)));
        System.out.printf("recovery: failover: %s jobs claimed as the primary died (the claim committed, its answer lost)"
                + " rescued%s%n", table.get("rescued"), firstRescue.map(at -> String.format(" %.1fs after the stop",
                Duration.between(stoppedAt, at.toInstant()).toNanos() / 1e9)).orElse(""));

        // Nothing was restarted, and every worker ran jobs on the new primary.
        for (WorkerProcess worker : workers) {
            assertThat(worker.isAlive()).isTrue();
            assertThat(worker.log()).doesNotContain("lost the lease on job");
        }
        long workersAfter = jdbi.withHandle(h -> h.createQuery(
                "SELECT count(DISTINCT worker_id) FROM procq.job_attempt WHERE outcome = 'OK' AND finished_at > :t")
                .bind("t", OffsetDateTime.ofInstant(promotedAt, java.time.ZoneOffset.UTC)).mapTo(Long.class).one());
        assertThat(workersAfter).isEqualTo(workers.size());
    }

    static double seconds(long nanos) {
        return nanos / 1e9;
    }

    static long okCount(Jdbi jdbi, long batch) {
        return jdbi.withHandle(h -> h.createQuery("SELECT ok FROM procq.batch WHERE id = :b").bind("b", batch)
                .mapTo(Long.class).one());
    }

    static long unfinished(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery("SELECT count(*) FROM procq.job WHERE state IN ('PENDING', 'RUNNING')")
                .mapTo(Long.class).one());
    }

    static long listeners(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'procq-listen'").mapTo(Long.class).one());
    }

    static OffsetDateTime firstFinishedAfter(Jdbi jdbi, Instant after) {
        return jdbi.withHandle(h -> h.createQuery("SELECT min(finished_at) FROM procq.job WHERE finished_at > :t")
                .bind("t", OffsetDateTime.ofInstant(after, java.time.ZoneOffset.UTC)).mapTo(OffsetDateTime.class).one());
    }

    /** True once no RUNNING job on this server holds a lease that is still valid. */
    boolean allLeasesExpired(int port) throws Exception {
        try (Connection connection = servers.connect(port); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(
                     "SELECT count(*) FROM procq.job WHERE state = 'RUNNING' AND lease_expires_at >= now()")) {
            rows.next();
            return rows.getLong(1) == 0;
        }
    }

    HttpResponse<String> post(Map<String, Object> body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + "/api/v1/batches"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    record Submission(long sentNanos, long answeredNanos, int status, long batchId, List<String> targets) {
    }

    /** A client that submits a small batch every 100 ms and keeps every answer. */
    final class Submitter {
        private final List<Submission> answers = new CopyOnWriteArrayList<>();
        private final Thread thread = new Thread(this::run, "failover-submitter");
        private volatile boolean stopping;

        void start() {
            thread.start();
        }

        void stop() throws InterruptedException {
            stopping = true;
            thread.join(40_000);
        }

        private void run() {
            int next = 0;
            while (!stopping) {
                List<String> targets = new ArrayList<>();
                for (int i = 0; i < SMALL_BATCH; i++) targets.add("small-" + next + "-" + i);
                next++;
                long sent = System.nanoTime();
                try {
                    HttpResponse<String> response = post(Map.of("type", "step", "targets", targets));
                    long batch = response.statusCode() == 202 ? JSON.readTree(response.body()).get("id").asLong() : -1;
                    answers.add(new Submission(sent, System.nanoTime(), response.statusCode(), batch, targets));
                    // Pacing of the load, not a wait for anything.
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    answers.add(new Submission(sent, System.nanoTime(), -1, -1, targets));
                }
            }
        }

        List<Submission> accepted() {
            return answers.stream().filter(s -> s.status() == 202).toList();
        }

        List<Integer> statuses() {
            return answers.stream().map(Submission::status).distinct().toList();
        }

        /** When the first submission sent after {@code nanos} was accepted. */
        Optional<Long> firstAcceptedAfter(long nanos) {
            return answers.stream().filter(s -> s.status() == 202 && s.sentNanos() > nanos)
                    .map(Submission::answeredNanos).min(Long::compare);
        }

        long acceptedAfter(long nanos) {
            return answers.stream().filter(s -> s.status() == 202 && s.sentNanos() > nanos).count();
        }
    }
}
