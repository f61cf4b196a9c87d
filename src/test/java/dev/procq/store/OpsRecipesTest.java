package dev.procq.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.pool.ResourceUsage;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.Psql;
import dev.procq.worker.RecordedAttempts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Each db/ops recipe, run by the real psql against a live API and worker, does what it says. */
class OpsRecipesTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final Path RECIPES = Path.of("db", "ops");
    /** Every recipe this class runs; a new recipe without a test here fails {@link #everyRecipeIsTestedAndSaysHowToRunIt}. */
    static final Set<String> TESTED = Set.of("progress.sql", "failures.sql", "requeue-failures.sql", "cancel-batch.sql",
            "slowest-targets.sql", "cpu-hungry-targets.sql", "pause-type.sql", "resume-type.sql", "set-concurrency.sql", "stuck-jobs.sql",
            "types.sql", "workers.sql", "pause-batch.sql", "resume-batch.sql");
    /** Recipes whose tests live elsewhere: roles.sql in security.DatabaseRolesTest. */
    static final Set<String> TESTED_ELSEWHERE = Set.of("roles.sql");

    static final String TYPES = """
            types:
              exit:
                command: ["sh", "-c", "echo \\"exiting with $1\\"; exit \\"$1\\"", "exit", "{target}"]
                concurrency: 4
              sleep:
                command: ["sleep", "{target}"]
                concurrency: 2
              idle:
                command: ["echo", "{target}"]
                concurrency: 2
            """;

    static Procq procq;
    static Psql psql;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Psql.available(), "the psql client is not installed");
        psql = new Psql(postgres.target());
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_CONCURRENCY", "8", "PROCQ_WORKER_METRICS_PORT", "off"))
                .startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        if (procq != null) procq.close();
    }

    /** A test that fails half-way must not leave sleeping children holding the slots of the next. */
    @AfterEach
    void cancelWhatIsStillRunning() {
        List<Long> open = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT id FROM procq.batch WHERE finished_at IS NULL AND type = 'sleep' AND NOT cancel_requested")
                .mapTo(Long.class).list());
        for (long batch : open) procq.post("/api/v1/batches/" + batch + "/cancel", null, "", Map.of());
    }

    static Psql.Result recipe(String name, Map<String, String> variables) throws Exception {
        Psql.Result result = psql.run(RECIPES.resolve(name), variables);
        assertThat(result.exit()).as(result.toString()).isZero();
        return result;
    }

    static long awaitDone(long batch) {
        await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        return batch;
    }

    static long count(long batch, String state) {
        return procq.batch(batch).get("counts").get(state).asLong();
    }

    static Object column(String sql, Object... arguments) {
        return procq.database().jdbi().withHandle(h -> h.select(sql, arguments).mapToMap().one().values().iterator().next());
    }

    @Test
    void progressListsRecentBatchesOrOneBatch() throws Exception {
        long batch = awaitDone(procq.submit("exit", List.of("0", "0")));

        assertThat(recipe("progress.sql", Map.of()).out()).containsPattern("(?m)^ +" + batch + " \\| exit +\\| DONE ");
        Psql.Result one = recipe("progress.sql", Map.of("batch", Long.toString(batch)));
        assertThat(one.out()).containsPattern("\\|\\s+100\\.0 \\|").contains("(1 row)");
    }

    @Test
    void failuresShowTheReasonAndTheOutput() throws Exception {
        long batch = awaitDone(procq.submit("exit", List.of("0", "7")));

        Psql.Result ofBatch = recipe("failures.sql", Map.of("batch", Long.toString(batch)));
        assertThat(ofBatch.out()).contains("exit code 7").contains("exiting with 7").contains("(1 row)");
        assertThat(recipe("failures.sql", Map.of()).out()).contains("exiting with 7");
    }

    @Test
    void requeueRunsTheFailedTargetsAgain() throws Exception {
        long batch = awaitDone(procq.submit("exit", List.of("0", "9")));
        long failedJob = ((Number) column("SELECT id FROM procq.job WHERE batch_id = ? AND state = 'FAILED'", batch)).longValue();

        Psql.Result result = recipe("requeue-failures.sql", Map.of("batch", Long.toString(batch)));

        assertThat(result.out()).containsPattern("requeued\\s+-+\\s+1\\s");
        // The worker, woken by the NOTIFY, runs it a second time; it fails again, with a second attempt row.
        await().atMost(Duration.ofSeconds(15)).until(() ->
                ((Number) column("SELECT count(*) FROM procq.job_attempt WHERE job_id = ?", failedJob)).longValue() == 2);
        awaitDone(batch);
        assertThat(count(batch, "FAILED")).isEqualTo(1);
    }

    @Test
    void aRecipeWithoutItsVariableRefusesToRun() throws Exception {
        Psql.Result result = psql.run(RECIPES.resolve("requeue-failures.sql"), Map.of());

        assertThat(result.exit()).isNotZero();
        assertThat(result.err()).contains("set the batch: psql -v batch=BATCH_ID");
    }

    @Test
    void cancelStopsTheRunningChildrenAndThePendingJobs() throws Exception {
        long batch = procq.submit("sleep", List.of("30", "30", "30"));
        await().atMost(Duration.ofSeconds(10)).until(() -> count(batch, "RUNNING") == 2);

        recipe("cancel-batch.sql", Map.of("batch", Long.toString(batch)));

        await().atMost(Duration.ofSeconds(15)).until(() -> count(batch, "CANCELLED") == 3);
        assertThat(procq.batch(batch).get("state").asText()).isEqualTo("CANCELLED");
        assertThat(count(batch, "RUNNING")).isZero();
    }

    @Test
    void slowestTargetsComeFirst() throws Exception {
        long batch = awaitDone(procq.submit("sleep", List.of("0.1", "0.9", "0.4")));

        String out = recipe("slowest-targets.sql", Map.of("batch", Long.toString(batch))).out();

        assertThat(out.indexOf(" 0.9 ")).isPositive().isLessThan(out.indexOf(" 0.4 "));
        assertThat(out.indexOf(" 0.4 ")).isLessThan(out.indexOf(" 0.1 "));
        assertThat(recipe("slowest-targets.sql", Map.of("type", "sleep")).out()).contains(" 0.9 ");
    }

    @Test
    void cpuHungryTargetsComeFirstAndUnmeasuredAttemptsAreCountedApart() throws Exception {
        // An API that also knows "costed", which this class's worker does not run: its attempts end
        // with the costs this test chooses, through the worker's own write path.
        String costedTypes = RecordedAttempts.withCostedType(TYPES);
        try (Procq costs = new Procq(postgres, costedTypes, Map.of("PROCQ_WORKER_METRICS_PORT", "off")).startApi()) {
            RecordedAttempts attempts = RecordedAttempts.of(costs, costedTypes);
            long batch = costs.submit("costed", List.of("light.bin", "heavy.bin", "unmeasured.bin", "medium.bin"));
            attempts.finishNext("costed", RecordedAttempts.exited(0, new ResourceUsage(1_000, 1_000, 2_048)));
            attempts.finishNext("costed", RecordedAttempts.exited(1, new ResourceUsage(2_500_000, 500_000, 204_800)));
            attempts.finishNext("costed", RecordedAttempts.exited(0, null));
            attempts.finishNext("costed", RecordedAttempts.exited(0, new ResourceUsage(300_000, 100_000, 10_240)));

            String out = recipe("cpu-hungry-targets.sql", Map.of("batch", Long.toString(batch))).out();

            List<String> rows = out.lines().filter(line -> line.contains(".bin")).toList();
            assertThat(rows).hasSize(3);
            assertThat(rows.get(0)).startsWith(" heavy.bin").containsPattern("\\|\\s+3000 \\|\\s+2500 \\|\\s+500 \\|\\s+200\\.0 \\| FAILED");
            assertThat(rows.get(1)).startsWith(" medium.bin").containsPattern("\\|\\s+400 \\|\\s+300 \\|\\s+100 \\|\\s+10\\.0 \\| OK");
            assertThat(rows.get(2)).startsWith(" light.bin").containsPattern("\\|\\s+2 \\|\\s+1 \\|\\s+1 \\|\\s+2\\.0 \\| OK");
            // The batch as a whole: four attempts, one of them not measured, 3402 ms of CPU, 200 MiB at most.
            assertThat(out).containsPattern("(?m)^\\s+4 \\|\\s+1 \\|\\s+3402 \\|\\s+200\\.0$");
            assertThat(recipe("cpu-hungry-targets.sql", Map.of("batch", Long.toString(batch), "limit", "1")).out()
                    .lines().filter(line -> line.contains(".bin"))).singleElement().asString().startsWith(" heavy.bin");
        }
    }

    @Test
    void cpuHungryTargetsRefusesToRunWithoutABatch() throws Exception {
        Psql.Result result = psql.run(RECIPES.resolve("cpu-hungry-targets.sql"), Map.of());

        assertThat(result.exit()).isNotZero();
        assertThat(result.err()).contains("set the batch: psql -v batch=BATCH_ID");
    }

    @Test
    void pauseResumeAndConcurrencyChangeTheTypeRow() throws Exception {
        assertThat(recipe("pause-type.sql", Map.of("type", "idle")).out()).containsPattern("idle \\|\\s+2 \\| t");
        assertThat(column("SELECT paused FROM procq.job_type WHERE name = 'idle'")).isEqualTo(true);

        assertThat(recipe("set-concurrency.sql", Map.of("type", "idle", "concurrency", "7")).out()).containsPattern("idle \\|\\s+7 \\| t");
        assertThat(recipe("resume-type.sql", Map.of("type", "idle")).out()).containsPattern("idle \\|\\s+7 \\| f");
        assertThat(column("SELECT paused FROM procq.job_type WHERE name = 'idle'")).isEqualTo(false);
        assertThat(recipe("types.sql", Map.of()).out()).containsPattern("idle +\\|\\s+7 \\| f");

        procq.database().jdbi().useHandle(h -> h.execute(
                "UPDATE procq.job_type SET halt_failed = 100, halt_in_a_row = 5 WHERE name = 'idle'"));
        assertThat(recipe("types.sql", Map.of()).out()).containsPattern("(?m)^ idle .*\\| failed 100, inARow 5 +\\|\\s+0$");
    }

    @Test
    void pauseBatchHoldsItsPendingJobsAndResumeBatchRunsThem() throws Exception {
        long batch = procq.submit("sleep", List.of("0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0.2",
                "0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0.2", "0.2"));
        assertThat(recipe("pause-batch.sql", Map.of("batch", Long.toString(batch))).out()).contains("PAUSED");
        await().atMost(Duration.ofSeconds(10)).until(() -> procq.batch(batch).get("counts").get("RUNNING").asInt() == 0);
        assertThat(procq.batch(batch).get("state").asText()).isEqualTo("PAUSED");
        assertThat(recipe("progress.sql", Map.of("batch", Long.toString(batch))).out()).contains("PAUSED");
        assertThat(recipe("types.sql", Map.of()).out()).as("held_batches").containsPattern("(?m)^ sleep .*\\|\\s+1$");

        assertThat(recipe("resume-batch.sql", Map.of("batch", Long.toString(batch))).out()).contains("RUNNING");
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        assertThat(recipe("pause-batch.sql", Map.of("batch", Long.toString(batch))).out()).contains("DONE");
        assertThat(psql.run(RECIPES.resolve("pause-batch.sql"), Map.of()).exit()).isNotZero();
    }

    @Test
    void stuckJobsAndQuietWorkersAreShown() throws Exception {
        procq.database().jdbi().useHandle(h -> {
            long quiet = h.createQuery("""
                    INSERT INTO procq.worker (host, pid, concurrency, types, heartbeat_at)
                    VALUES ('quiet-host', 77, 1, '{elsewhere}', now() - interval '5 minutes') RETURNING id""")
                    .mapTo(Long.class).one();
            long batch = h.createQuery("INSERT INTO procq.batch (type, total) VALUES ('elsewhere', 1) RETURNING id")
                    .mapTo(Long.class).one();
            h.execute("""
                    INSERT INTO procq.job (batch_id, type, target, state, attempts, worker_id, started_at, lease_expires_at)
                    VALUES (?, 'elsewhere', 'hung-target', 'RUNNING', 1, ?, now() - interval '10 minutes', now() + interval '1 hour')""",
                    batch, quiet);
        });

        String out = recipe("stuck-jobs.sql", Map.of()).out();

        assertThat(out).contains("hung-target").contains("worker heartbeat late");
        assertThat(out.lines().filter(line -> line.contains("quiet-host") && line.contains("| 00:05:")))
                .as("the quiet worker, silent five minutes, holding one job").singleElement()
                .satisfies(line -> assertThat(line).containsPattern("\\|\\s+1$"));
    }

    @Test
    void workersListTheLiveWorkerAndWhatItHolds() throws Exception {
        long batch = procq.submit("sleep", List.of("30"));
        await().atMost(Duration.ofSeconds(10)).until(() -> count(batch, "RUNNING") == 1);

        String out = recipe("workers.sql", Map.of()).out();

        long live = ((Number) column("SELECT worker_id FROM procq.job WHERE batch_id = ?", batch)).longValue();
        assertThat(out.lines().filter(line -> line.matches(" *" + live + " \\|.*")))
                .as("the worker's row, holding one job").singleElement()
                .satisfies(line -> assertThat(line).contains("sleep").containsPattern("\\|\\s+1$"));
    }

    @Test
    void everyRecipeIsTestedAndSaysHowToRunIt() throws IOException {
        Set<String> present = new TreeSet<>();
        try (Stream<Path> files = Files.list(RECIPES)) {
            files.filter(file -> file.toString().endsWith(".sql")).forEach(file -> present.add(file.getFileName().toString()));
        }
        present.removeAll(TESTED_ELSEWHERE);
        assertThat(present).isEqualTo(new TreeSet<>(TESTED));
        for (String name : present) {
            String text = Files.readString(RECIPES.resolve(name));
            assertThat(text).as(name).startsWith("-- ").contains("psql ").contains("\\set ON_ERROR_STOP on");
        }
    }
}
