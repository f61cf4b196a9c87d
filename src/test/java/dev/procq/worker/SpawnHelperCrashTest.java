package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's spawn helper is SIGKILLed in the middle of a batch: the worker notices at once,
 * ends what the helper's children left, records their attempts LOST without counting them, starts
 * a new helper and finishes the batch, each target run to completion once.
 */
class SpawnHelperCrashTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    @TempDir
    static Path dir;

    static Path jobTypes;
    static Path done;
    static Procq procq;
    static Jdbi jdbi;
    static String napSeconds;

    @BeforeAll
    static void start() throws Exception {
        done = dir.resolve("done.txt");
        // A unique nap, so the test finds exactly its own sleeps; a grandchild does the sleeping.
        napSeconds = "1." + ThreadLocalRandom.current().nextInt(100_000, 1_000_000);
        String types = """
                types:
                  nap:
                    command: ["sh", "-c", "sleep %s & wait; echo \\"$1\\" >> \\"$2\\"", "nap", "{target}", "%s"]
                    concurrency: 4
                    maxAttempts: 1
                """.formatted(napSeconds, done);
        jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, types);
        procq = new Procq(postgres, types, Map.of()).startApi();
        jdbi = postgres.database().jdbi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void killedHelperLosesItsRunningAttemptsWithoutCountingThemAndIsReplaced() throws Exception {
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 12; i++) targets.add("t" + i);
        long batch = procq.submit("nap", targets);
        Map<String, String> env = new HashMap<>(WorkerProcess.environment(postgres, jobTypes, 4, "15s"));
        env.put("PROCQ_SPAWNER", "native");
        try (WorkerProcess worker = WorkerProcess.start("helper-crash", env)) {
            worker.awaitRegistered(jdbi);
            await().atMost(Duration.ofSeconds(30)).until(() -> LiveProcesses.running("sleep", napSeconds).size() == 4);
            List<Long> sleeps = LiveProcesses.running("sleep", napSeconds);
            long helper = helperOf(worker);

            ProcessHandle.of(helper).orElseThrow().destroyForcibly();
            long killedAt = System.nanoTime();

            // Long before any lease (15 s) could run out: the worker saw the helper's end itself.
            await().atMost(Duration.ofSeconds(5)).until(() -> lostAttempts(batch) == 4);
            double lostAfter = (System.nanoTime() - killedAt) / 1e9;
            assertThat(sleeps).as("the grandchildren of the lost attempts").noneMatch(LiveProcesses::isLive);
            await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
            System.out.printf("spawn helper SIGKILLed: 4 attempts LOST after %.2fs, batch done after %.1fs%n",
                    lostAfter, (System.nanoTime() - killedAt) / 1e9);

            long replacement = helperOf(worker);
            assertThat(replacement).isNotEqualTo(helper);
            assertThat(worker.log()).contains("spawn helper (pid " + helper + ") killed by signal 9");
        }
        // maxAttempts is 1: the lost attempts were not counted, or those targets would have FAILED.
        assertThat(procq.batch(batch).get("counts").get("OK").asLong()).isEqualTo(targets.size());
        Map<String, Long> runs = Files.readAllLines(done).stream()
                .collect(Collectors.groupingBy(line -> line, Collectors.counting()));
        assertThat(runs.keySet()).containsExactlyInAnyOrderElementsOf(targets);
        assertThat(runs.values()).as("each target ran to its end once").containsOnly(1L);
        List<Map<String, Object>> lost = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.attempt, a.error, j.attempts, j.max_attempts FROM procq.job_attempt a
                  JOIN procq.job j ON j.id = a.job_id
                 WHERE j.batch_id = :b AND a.outcome = 'LOST'""").bind("b", batch).mapToMap().list());
        assertThat(lost).hasSize(4).allSatisfy(row -> {
            assertThat(row.get("attempt")).isEqualTo(1);
            assertThat(row.get("attempts")).isEqualTo(2);
            assertThat(row.get("max_attempts")).isEqualTo(2);
            assertThat((String) row.get("error")).startsWith("the spawn helper died (killed by signal 9)");
        });
    }

    static long lostAttempts(long batch) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                 WHERE j.batch_id = :b AND a.outcome = 'LOST'""").bind("b", batch).mapTo(Long.class).one());
    }

    /** The worker's spawn helper: its direct child named procq-spawnd. */
    static long helperOf(WorkerProcess worker) {
        return await().atMost(Duration.ofSeconds(10)).until(() -> ProcessHandle.of(worker.pid()).orElseThrow().children()
                .filter(child -> child.info().command().map(command -> command.endsWith("/procq-spawnd")).orElse(false))
                .map(ProcessHandle::pid).findFirst().orElse(-1L), pid -> pid > 0);
    }
}
