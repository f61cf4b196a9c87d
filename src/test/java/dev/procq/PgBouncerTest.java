package dev.procq;

import dev.procq.config.DatabaseTimeouts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.config.DatabasePooler;
import dev.procq.security.CapturedLogs;
import dev.procq.store.Database;
import dev.procq.store.ServerTimeouts;
import dev.procq.testing.PgBouncer;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * procq behind a real PgBouncer in transaction mode, with PROCQ_DATABASE_POOLER=pgbouncer: the
 * API (in this JVM), a worker JVM and a worker in this JVM all reach PostgreSQL only through a
 * PgBouncer that gives them three server connections to share. Batches run every target once,
 * cancels and type changes reach the workers without LISTEN, the pruner leaves no lock behind,
 * the timeouts come from the database settings, and no log (procq's or PgBouncer's) shows a
 * prepared statement or startup parameter going astray.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PgBouncerTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** Server connections PgBouncer opens to PostgreSQL for all of procq's clients together. */
    static final int SERVER_CONNECTIONS = 3;

    @TempDir
    static Path directory;

    static PgBouncer bouncer;
    static Database bounced;
    static Procq procq;
    static WorkerProcess worker;
    static CapturedLogs logs;
    static Path marks;
    static Jdbi direct;
    static long oldBatch;
    static final AtomicLong mostServerSessions = new AtomicLong();

    static String types(Path marks) {
        return """
                types:
                  mark:
                    command: ["sh", "-c", "echo \\"$1\\" >> \\"$MARKS\\"", "mark", "{target}"]
                    env: {MARKS: "%s"}
                    concurrency: 8
                  slow:
                    command: ["sleep", "{target}"]
                    concurrency: 1
                    targetPattern: '^[0-9]+$'
                """.formatted(marks);
    }

    @BeforeAll
    static void start() throws Exception {
        // Skipped test by test (below), so the report names the reason for each.
        if (!PgBouncer.installed()) return;
        direct = postgres.database().jdbi();
        String database = direct.withHandle(h -> h.createQuery("SELECT current_database()").mapTo(String.class).one());
        String user = direct.withHandle(h -> h.createQuery("SELECT current_user").mapTo(String.class).one());
        // What procq cannot send through PgBouncer, every server session inherits from here.
        direct.useHandle(h -> {
            h.execute("ALTER DATABASE " + database + " SET statement_timeout = '30s'");
            h.execute("ALTER DATABASE " + database + " SET lock_timeout = '5s'");
        });
        Path bouncerDirectory = Files.createDirectories(directory.resolve("pgbouncer"));
        bouncer = PgBouncer.start(bouncerDirectory, postgres.target(), database, user, postgres.target().password(),
                Map.of("default_pool_size", Integer.toString(SERVER_CONNECTIONS)));

        marks = directory.resolve("marks.txt");
        Files.createFile(marks);
        Path jobTypes = directory.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, types(marks));

        logs = new CapturedLogs(Level.INFO);
        bounced = new Database(bouncer.target(), "bounced", 4, DatabaseTimeouts.DEFAULT, DatabasePooler.PGBOUNCER);
        procq = new Procq(postgres, bounced, types(marks), Map.of("PROCQ_DATABASE_POOLER", "pgbouncer",
                "PROCQ_WORKER_CONCURRENCY", "8")).startApi();
        // A batch that finished long ago, for the workers' pruner to find through PgBouncer.
        oldBatch = procq.submit("mark", List.of("old-1", "old-2"));
        direct.useHandle(h -> {
            h.execute("UPDATE procq.job SET state = 'OK', attempts = 1, finished_at = now() WHERE batch_id = ?", oldBatch);
            h.execute("UPDATE procq.batch SET finished_at = now() - interval '8 days' WHERE id = ?", oldBatch);
        });

        Map<String, String> env = new HashMap<>();
        env.put("PROCQ_DATABASE_URL", bouncer.jdbcUrl());
        env.put("PROCQ_DATABASE_USER", user);
        if (postgres.target().password() != null) env.put("PROCQ_DATABASE_PASSWORD", postgres.target().password());
        env.put("PROCQ_DATABASE_POOLER", "pgbouncer");
        env.put("PROCQ_JOB_TYPES", jobTypes.toString());
        env.put("PROCQ_WORKER_CONCURRENCY", "8");
        worker = WorkerProcess.start("pgbouncer", env);
        worker.awaitRegistered(direct);
        procq.startWorker();
    }

    @BeforeEach
    void needsPgBouncer() {
        assumeTrue(PgBouncer.installed(), "needs PgBouncer at " + PgBouncer.BINARY
                + " (Debian: apt-get install pgbouncer; .ci/run installs it)");
    }

    @AfterAll
    static void stop() throws Exception {
        if (worker != null) worker.close();
        if (procq != null) procq.close();
        if (bounced != null) bounced.close();
        if (logs != null) logs.close();
        if (bouncer != null) bouncer.close();
    }

    @Test
    @Order(1)
    void jsonAndTextBatchesRunEveryTargetExactlyOnce() throws IOException {
        List<String> jsonTargets = IntStream.rangeClosed(1, 5).mapToObj(i -> "json-" + i).toList();
        List<String> textTargets = IntStream.rangeClosed(1, 300).mapToObj(i -> "text-" + i).toList();
        long started = System.nanoTime();
        long json = procq.submit("mark", jsonTargets);
        Procq.Response text = procq.post("/api/v1/batches?type=mark", "text/plain",
                String.join("\n", textTargets) + "\n", Map.of());
        assertThat(text.status()).as(text.body()).isEqualTo(202);
        long plain = text.json().get("id").asLong();

        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> {
                    mostServerSessions.accumulateAndGet(serverSessions(), Math::max);
                    return isDone(json) && isDone(plain);
                });
        System.out.printf("PgBouncerTest: 305 targets done %d ms after submission%n",
                Duration.ofNanos(System.nanoTime() - started).toMillis());

        for (long batch : List.of(json, plain)) {
            JsonNode done = procq.batch(batch);
            assertThat(done.get("counts").get("OK").asLong()).isEqualTo(done.get("total").asLong());
        }
        long attempts = direct.withHandle(h -> h.createQuery("""
                SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                 WHERE j.batch_id IN (:json, :plain) AND a.outcome = 'OK'""")
                .bind("json", json).bind("plain", plain).mapTo(Long.class).one());
        assertThat(attempts).as("one attempt per target").isEqualTo(305);
        // Each child appended its target: every one ran, and none twice.
        Map<String, Long> runs = Files.readAllLines(marks).stream()
                .filter(line -> !line.startsWith("old-"))
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
        List<String> all = new ArrayList<>(jsonTargets);
        all.addAll(textTargets);
        assertThat(runs.keySet()).containsExactlyInAnyOrderElementsOf(all);
        assertThat(runs.values()).containsOnly(1L);
        // Both workers took part, sharing PgBouncer's few server connections with the API.
        List<Long> workers = direct.withHandle(h -> h.createQuery(
                "SELECT DISTINCT a.worker_id FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :id")
                .bind("id", plain).mapTo(Long.class).list());
        assertThat(workers).hasSize(2);
        assertThat(mostServerSessions.get()).isBetween(1L, (long) SERVER_CONNECTIONS);
    }

    @Test
    @Order(2)
    void aTypeChangeBySqlAndACancelReachTheWorkersWithoutListen() {
        long batch = procq.submit("slow", List.of("60", "60", "60", "60", "60", "60"));
        await().atMost(Duration.ofSeconds(10)).until(() -> count(batch, "RUNNING") == 2);

        long changed = System.nanoTime();
        direct.useHandle(h -> h.execute("UPDATE procq.job_type SET concurrency = 3 WHERE name = 'slow'"));
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> count(batch, "RUNNING") == 6);
        System.out.printf("PgBouncerTest: concurrency change by SQL followed by both workers in %d ms%n",
                Duration.ofNanos(System.nanoTime() - changed).toMillis());

        long cancelled = System.nanoTime();
        assertThat(procq.post("/api/v1/batches/" + batch + "/cancel", null, "", Map.of()).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).until(() -> count(batch, "CANCELLED") == 6);
        System.out.printf("PgBouncerTest: 6 running children stopped and recorded %d ms after the cancel%n",
                Duration.ofNanos(System.nanoTime() - cancelled).toMillis());
        assertThat(procq.batch(batch).get("state").asText()).isEqualTo("CANCELLED");
        List<String> outcomes = direct.withHandle(h -> h.createQuery(
                "SELECT a.outcome FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :id")
                .bind("id", batch).mapTo(String.class).list());
        assertThat(outcomes).hasSize(6).containsOnly("STOPPED");
    }

    @Test
    @Order(3)
    void thePrunerLeavesNoAdvisoryLockOnAServerSession() {
        // The workers' first prune comes two seconds after they start.
        await().atMost(Duration.ofSeconds(20)).until(() -> direct.withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.batch WHERE id = :id").bind("id", oldBatch).mapTo(Long.class).one()) == 0);
        long advisoryLocks = direct.withHandle(h -> h.createQuery("""
                SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                 WHERE l.locktype = 'advisory' AND d.datname = current_database()""").mapTo(Long.class).one());
        assertThat(advisoryLocks).isZero();
    }

    @Test
    @Order(4)
    void theTimeoutsHoldThroughPgBouncerFromTheDatabaseSettings() {
        assertThat(bounced.checkServerTimeouts()).contains(new ServerTimeouts(30_000, 5_000));
        assertThat(worker.log()).contains("no LISTEN behind PROCQ_DATABASE_POOLER=pgbouncer")
                .doesNotContain("statement_timeout").doesNotContain("lock_timeout");
    }

    @Test
    @Order(5)
    void noLogShowsAPreparedStatementOrAStartupParameterGoingAstray() {
        List<String> procqLines = new ArrayList<>(logs.lines());
        procqLines.addAll(worker.log().lines().toList());
        List<String> bouncerLines = bouncer.log().lines().toList();
        for (String unwanted : List.of("prepared statement", "unsupported startup parameter", "does not exist",
                "already exists", "failed:", "ERROR")) {
            assertThat(procqLines).as("procq logs").noneMatch(line -> line.contains(unwanted));
        }
        for (String unwanted : List.of("prepared statement", "unsupported startup parameter", "pooler error",
                "ERROR", "WARNING")) {
            assertThat(bouncerLines).as("PgBouncer's log").noneMatch(line -> line.contains(unwanted));
        }
    }

    @Test
    void withoutThePoolerSettingPgBouncerRefusesProcqsLogin(@TempDir Path own) throws Exception {
        String user = direct.withHandle(h -> h.createQuery("SELECT current_user").mapTo(String.class).one());
        String database = direct.withHandle(h -> h.createQuery("SELECT current_database()").mapTo(String.class).one());
        try (PgBouncer other = PgBouncer.start(own, postgres.target(), database, user, postgres.target().password(),
                Map.of());
             Database unaware = new Database(other.target(), "unaware", 1, DatabaseTimeouts.DEFAULT)) {
            // procq's own statement and lock timeouts travel in the startup packet, which PgBouncer refuses.
            assertThat(unaware.isReachable()).isFalse();
            await().atMost(Duration.ofSeconds(5)).until(() -> other.log().contains("unsupported startup parameter: options"));
        }
    }

    static boolean isDone(long batch) {
        return procq.batch(batch).get("state").asText().equals("DONE");
    }

    static long count(long batch, String state) {
        return procq.batch(batch).get("counts").get(state.toUpperCase(Locale.ROOT)).asLong();
    }

    /** Sessions on this database that are not the test's own direct pool: PgBouncer's server connections. */
    static long serverSessions() {
        return direct.withHandle(h -> h.createQuery("""
                SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND backend_type = 'client backend'
                   AND application_name <> 'procq-test'""").mapTo(Long.class).one());
    }
}
