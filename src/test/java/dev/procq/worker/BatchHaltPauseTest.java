package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerFleet;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failure budgets halt a batch and operators pause and resume it, across two worker JVMs: once
 * PostgreSQL has marked the batch PAUSED or HALTED, no worker starts another of its children;
 * those already running finish, and the PENDING jobs wait for a resume (or a cancel).
 */
class BatchHaltPauseTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** Each worker's slots: two workers hold at most 2 * SLOTS children. */
    static final int SLOTS = 8;
    static final int HUGE_BATCH = 20_000;

    @TempDir
    static Path dir;

    static Path ran;
    static Procq procq;
    static Jdbi jdbi;
    static WorkerFleet fleet;

    @BeforeAll
    static void start() throws Exception {
        ran = dir.resolve("ran.txt");
        Files.createFile(ran);
        String types = """
                types:
                  broken:
                    command: ["false", "{target}"]
                    concurrency: %d
                    halt: {failed: 100}
                  append:
                    command: ["sh", "-c", "echo \\"$1\\" >> \\"$2\\"; sleep 0.1", "append", "{target}", "%s"]
                    concurrency: 2
                  exit:
                    command: ["sh", "-c", "echo \\"$1\\" >> \\"$2\\"; exit \\"$1\\"", "exit", "{target}", "%s"]
                    concurrency: 1
                    halt: {inARow: 3}
                """.formatted(SLOTS, ran, ran);
        Path jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, types);
        procq = new Procq(postgres, types, Map.of()).checkedAgainst(OpenApiContract.load()).startApi();
        jdbi = procq.database().jdbi();
        fleet = new WorkerFleet(postgres, jobTypes);
        List<WorkerProcess> workers = List.of(fleet.start("halt-a", SLOTS, "15s", Map.of()),
                fleet.start("halt-b", SLOTS, "15s", Map.of()));
        for (WorkerProcess worker : workers) worker.awaitRegistered(jdbi);
    }

    @AfterAll
    static void stop() throws Exception {
        fleet.stopAll();
        procq.close();
    }

    @AfterEach
    void forget() throws Exception {
        Files.writeString(ran, "");
    }

    static long attemptsOf(long batch) {
        return jdbi.withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :b")
                .bind("b", batch).mapTo(Long.class).one());
    }

    static List<String> ranTargets() throws Exception {
        return Files.readAllLines(ran);
    }

    /**
     * Waits until nothing of the batch runs, then checks that nothing more starts for two seconds;
     * returns how long the running children took to end.
     */
    static Duration assertNothingMoreStarts(long batch) {
        long from = System.nanoTime();
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50))
                .until(() -> procq.batch(batch).get("counts").get("RUNNING").asInt() == 0);
        Duration ended = Duration.ofNanos(System.nanoTime() - from);
        long settled = attemptsOf(batch);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(3))
                .until(() -> attemptsOf(batch) == settled && procq.batch(batch).get("counts").get("RUNNING").asInt() == 0);
        return ended;
    }

    @Test
    void aProgramThatFailsForEveryTargetHaltsItsHugeBatchWithinTheBudget() {
        List<String> targets = new ArrayList<>(HUGE_BATCH);
        for (int i = 0; i < HUGE_BATCH; i++) targets.add("t" + i);
        long submitted = System.nanoTime();
        long batch = procq.submit("broken", targets);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> procq.batch(batch).get("startedAt").isTextual());
        long firstClaim = System.nanoTime();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                .until(() -> procq.batch(batch).get("state").asText().equals("HALTED"));
        long haltedAfter = System.nanoTime() - firstClaim;
        long submittedToHalt = System.nanoTime() - submitted;
        long runsAtHalt = attemptsOf(batch);
        assertNothingMoreStarts(batch);

        long runs = attemptsOf(batch);
        JsonNode view = procq.batch(batch);
        System.out.printf("halt: %d-target batch of a failing program HALTED %.1fs after its first claim (%.1fs after"
                        + " the POST); %d runs at the halt, %d in all (budget 100, %d slots); %d PENDING left%n",
                HUGE_BATCH, haltedAfter / 1e9, submittedToHalt / 1e9, runsAtHalt, runs, 2 * SLOTS,
                view.get("counts").get("PENDING").asLong());
        // The budget, plus what was in flight when it ran out: the slots of both workers, claimed at most
        // once more each by a claim whose snapshot predates the halt.
        assertThat(runs).isGreaterThanOrEqualTo(100).isLessThanOrEqualTo(100 + 2L * 2 * SLOTS);
        assertThat(view.get("state").asText()).isEqualTo("HALTED");
        assertThat(view.get("counts").get("FAILED").asLong()).isEqualTo(runs);
        assertThat(view.get("counts").get("PENDING").asLong()).isEqualTo(HUGE_BATCH - runs);
        assertThat(view.get("haltReason").asText()).matches("\\d+ targets failed \\(budget: failed 100\\)");
        assertThat(view.get("halt").get("failed").asLong()).isEqualTo(100);

        Map<String, Object> row = jdbi.withHandle(h -> h.createQuery(
                "SELECT state, halt_reason, budget FROM procq.batch_progress WHERE id = :b").bind("b", batch).mapToMap().one());
        assertThat(row).containsEntry("state", "HALTED").containsEntry("budget", "failed 100");
        assertThat((String) row.get("halt_reason")).endsWith("(budget: failed 100)");

        // Cancel still works on a halted batch: what waited is CANCELLED.
        Procq.Response cancel = procq.postJson("/api/v1/batches/" + batch + "/cancel", "");
        assertThat(cancel.status()).isEqualTo(200);
        assertThat(cancel.json().get("state").asText()).isEqualTo("CANCELLED");
        assertThat(cancel.json().get("counts").get("CANCELLED").asLong()).isEqualTo(HUGE_BATCH - runs);
    }

    @Test
    void pauseStopsBothWorkersAndResumeRunsTheRestExactlyOnce() throws Exception {
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 120; i++) targets.add("p" + i);
        long batch = procq.submit("append", targets);
        await().atMost(Duration.ofSeconds(10)).until(() -> ranTargets().size() >= 8);

        Procq.Response pause = procq.postJson("/api/v1/batches/" + batch + "/pause", "");
        assertThat(pause.status()).isEqualTo(200);
        assertThat(pause.json().get("state").asText()).isEqualTo("PAUSED");
        assertThat(pause.json().get("paused").asBoolean()).isTrue();
        long runningAtPause = pause.json().get("counts").get("RUNNING").asLong();
        long startedAtPause = attemptsOf(batch) + runningAtPause;
        Duration drained = assertNothingMoreStarts(batch);
        System.out.printf("pause: %d children were running at the pause; the last ended %.1fs after it, none started%n",
                runningAtPause, drained.toMillis() / 1e3);

        JsonNode view = procq.batch(batch);
        assertThat(view.get("state").asText()).isEqualTo("PAUSED");
        // What ran after the pause is what was already running (or claimed in the same instant).
        assertThat(attemptsOf(batch)).isLessThanOrEqualTo(startedAtPause + 2 * 2);
        assertThat(view.get("counts").get("PENDING").asLong()).isGreaterThan(0);
        assertThat(ranTargets()).hasSize((int) attemptsOf(batch));

        Procq.Response resume = procq.postJson("/api/v1/batches/" + batch + "/resume", "");
        assertThat(resume.status()).isEqualTo(200);
        assertThat(resume.json().get("state").asText()).isEqualTo("RUNNING");
        await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        List<String> all = ranTargets();
        Collections.sort(all);
        List<String> expected = new ArrayList<>(targets);
        Collections.sort(expected);
        assertThat(all).isEqualTo(expected);
        assertThat(procq.batch(batch).get("counts").get("OK").asInt()).isEqualTo(120);
    }

    @Test
    void anOperatorPausesWithSqlAndTheWorkersFollow() throws Exception {
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 60; i++) targets.add("s" + i);
        long batch = procq.submit("append", targets);
        await().atMost(Duration.ofSeconds(10)).until(() -> ranTargets().size() >= 4);
        jdbi.useHandle(h -> h.execute("UPDATE procq.batch SET paused = true WHERE id = ?", batch));
        assertNothingMoreStarts(batch);
        assertThat(procq.batch(batch).get("state").asText()).isEqualTo("PAUSED");
        assertThat(procq.batch(batch).get("counts").get("PENDING").asLong()).isGreaterThan(0);

        String state = jdbi.withHandle(h -> h.createQuery("SELECT procq.resume_batch(:b)").bind("b", batch)
                .mapTo(String.class).one());
        assertThat(state).isEqualTo("RUNNING");
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        assertThat(ranTargets()).hasSize(60);
    }

    @Test
    void failuresInARowHaltAndAResumeWithAFreshBudgetRunsTheRest() throws Exception {
        // One slot per worker, so results may land out of order by one: single failures between OKs
        // never make three in a row, six failures in a row always do.
        List<String> targets = List.of("0", "1", "0", "1", "0", "1", "1", "1", "1", "1", "1", "0", "0", "0", "0");
        long batch = procq.submit("exit", targets);
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(batch).get("state").asText().equals("HALTED"));
        assertNothingMoreStarts(batch);
        JsonNode halted = procq.batch(batch);
        assertThat(halted.get("haltReason").asText()).contains("in a row (budget: inARow 3)");
        long ranBefore = attemptsOf(batch);
        assertThat(halted.get("counts").get("PENDING").asLong()).isEqualTo(targets.size() - ranBefore);

        Procq.Response resume = procq.postJson("/api/v1/batches/" + batch + "/resume", "{\"halt\": {\"failed\": 50}}");
        assertThat(resume.status()).isEqualTo(200);
        assertThat(resume.json().get("haltReason").isNull()).isTrue();
        assertThat(resume.json().get("halt").get("failed").asLong()).isEqualTo(50);
        assertThat(resume.json().get("halt").has("inARow")).isFalse();
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        assertThat(ranTargets()).hasSize(targets.size());

        // A finished batch has nothing to pause or resume.
        Procq.Response again = procq.postJson("/api/v1/batches/" + batch + "/resume", "");
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.json().get("error").asText()).contains("is DONE");
        assertThat(procq.postJson("/api/v1/batches/" + batch + "/pause", "").status()).isEqualTo(409);
    }

    @Test
    void aSubmissionOverridesItsTypesBudget() {
        Procq.Response none = procq.postJson("/api/v1/batches",
                "{\"type\": \"exit\", \"halt\": {}, \"targets\": [\"1\", \"1\", \"1\", \"1\", \"1\"]}");
        assertThat(none.status()).isEqualTo(202);
        long batch = none.json().get("id").asLong();
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        assertThat(procq.batch(batch).get("counts").get("FAILED").asInt()).isEqualTo(5);

        Procq.Response text = procq.post("/api/v1/batches?type=exit&halt=failed=2", "text/plain", "1\n1\n1\n1\n1\n1\n", Map.of());
        assertThat(text.status()).isEqualTo(202);
        long second = text.json().get("id").asLong();
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(second).get("state").asText().equals("HALTED"));
        assertThat(procq.batch(second).get("haltReason").asText()).endsWith("(budget: failed 2)");
        assertThat(procq.postJson("/api/v1/batches/" + second + "/cancel", "").status()).isEqualTo(200);
    }
}
