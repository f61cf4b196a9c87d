package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * PROCQ_SPAWNER on a host where the spawn helper cannot run (here: its temporary directory does
 * not exist): {@code native} refuses to start, naming why; {@code auto} says so once and runs
 * every job through ProcessBuilder.
 */
class SpawnerChoiceTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    @TempDir
    static Path dir;

    static Path jobTypes;
    static Procq procq;
    static Jdbi jdbi;

    @BeforeAll
    static void start() throws Exception {
        String types = """
                types:
                  greet:
                    command: ["sh", "-c", "echo hello \\"$1\\"; exit 130", "greet", "{target}"]
                    concurrency: 2
                    maxAttempts: 1
                """;
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
    void nativeWithoutAWorkingHelperFailsStartUpNamingTheCause() {
        try (WorkerProcess worker = WorkerProcess.start("spawner-native", environment("native"),
                "-Djava.io.tmpdir=" + dir.resolve("missing"))) {
            assertThat(worker.awaitExit(Duration.ofSeconds(30))).isEqualTo(2);
            assertThat(worker.log()).contains("PROCQ_SPAWNER=native, but the spawn helper cannot run")
                    .contains("private directory");
        }
    }

    @Test
    void autoWithoutAWorkingHelperWarnsOnceAndRunsJobsThroughProcessBuilder() {
        long batch = procq.submit("greet", List.of("a", "b", "c"));
        try (WorkerProcess worker = WorkerProcess.start("spawner-auto", environment("auto"),
                "-Djava.io.tmpdir=" + dir.resolve("missing"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
            String log = worker.log();
            assertThat(log).containsOnlyOnce("spawn helper unavailable").contains("children start through ProcessBuilder");
        }
        // Through ProcessBuilder, exit code 130 cannot be told from SIGINT: the known limit of that backend.
        List<Integer> signals = jdbi.withHandle(h -> h.createQuery(
                "SELECT a.signal FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :b")
                .bind("b", batch).mapTo(Integer.class).list());
        assertThat(signals).containsOnly(2);
    }

    @Test
    void nativeRecordsExitCodesAbove128Exactly() {
        long batch = procq.submit("greet", List.of("x", "y"));
        try (WorkerProcess worker = WorkerProcess.start("spawner-exact", environment("native"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
            assertThat(worker.log()).contains("children start through procq-spawnd");
        }
        List<Map<String, Object>> attempts = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.exit_code, a.signal, a.error, a.cpu_user_ms, a.cpu_system_ms, a.max_rss_kb, a.output_tail
                  FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :b""")
                .bind("b", batch).mapToMap().list());
        assertThat(attempts).hasSize(2).allSatisfy(row -> {
            assertThat(row.get("exit_code")).isEqualTo(130);
            assertThat(row.get("signal")).isNull();
            assertThat(row.get("error")).isEqualTo("exit code 130");
            assertThat((Long) row.get("cpu_user_ms")).isNotNull().isNotNegative();
            assertThat((Long) row.get("cpu_system_ms")).isNotNull().isNotNegative();
            assertThat((Long) row.get("max_rss_kb")).isPositive();
            assertThat((String) row.get("output_tail")).startsWith("hello ");
        });
    }

    static Map<String, String> environment(String spawner) {
        Map<String, String> env = new HashMap<>(WorkerProcess.environment(postgres, jobTypes, 2, "15s"));
        env.put("PROCQ_SPAWNER", spawner);
        return env;
    }
}
