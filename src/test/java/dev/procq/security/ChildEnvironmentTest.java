package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.config.ConfigException;
import dev.procq.config.JobTypes;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real `procq worker` JVM, started with its database password, API tokens and other secrets in
 * its environment, runs `env -0` as a child: the child sees the type's allowlist and procq's own
 * PROCQ_JOB_ID, PROCQ_BATCH_ID, PROCQ_ATTEMPT and PROCQ_WORKER_RUN, and nothing else.
 */
class ChildEnvironmentTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String DB_PASSWORD = "db-secret-" + UUID.randomUUID();
    static final String API_TOKEN = "api-secret-" + UUID.randomUUID();
    static final String AWS_SECRET = "aws-secret-" + UUID.randomUUID();
    static final String PATH = "/usr/local/bin:/usr/bin:/bin";
    static final Set<String> PROCQ_OWN = Set.of("PROCQ_JOB_ID", "PROCQ_BATCH_ID", "PROCQ_ATTEMPT", "PROCQ_WORKER_RUN");

    /** `env -u NAME` removes a variable that is not there and prints the rest, NUL-separated. */
    static final String TYPES = """
            types:
              defaults:
                command: ["env", "-0", "-u", "{target}"]
              narrowed:
                command: ["env", "-0", "-u", "{target}"]
                passEnv: ["PATH", "SERVICE_URL"]
                env: {GREETING: "hello world", PROCQ_JOB_ID: "cannot override procq's own"}
            """;

    @TempDir
    static Path dir;
    static Procq procq;
    static Process worker;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of()).startApi();
        Path types = Files.writeString(dir.resolve("jobtypes.yaml"), TYPES);
        Map<String, String> env = new LinkedHashMap<>(postgres.environment());
        // A real password when the test database needs one; trust authentication ignores it.
        env.putIfAbsent("PROCQ_DATABASE_PASSWORD", DB_PASSWORD);
        env.put("PROCQ_API_TOKENS", API_TOKEN);
        env.put("PROCQ_TOKEN", API_TOKEN);
        env.put("AWS_SECRET_ACCESS_KEY", AWS_SECRET);
        env.put("SERVICE_URL", "http://service.internal");
        env.put("HOME", dir.toString());
        env.put("USER", "procq");
        env.put("PATH", PATH);
        env.put("LANG", "C.UTF-8");
        env.put("TZ", "UTC");
        env.put("PROCQ_JOB_TYPES", types.toString());
        env.put("PROCQ_WORKER_METRICS_PORT", "0");
        env.put("PROCQ_HTTP_PORT", "0");
        env.put("PROCQ_POLL_INTERVAL", "200ms");
        env.put("PROCQ_WORKER_CONCURRENCY", "2");
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "dev.procq.Main", "worker");
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(dir.resolve("worker.log").toFile());
        builder.environment().clear();
        builder.environment().putAll(env);
        worker = builder.start();
    }

    @AfterAll
    static void stop() throws Exception {
        if (worker != null) {
            worker.destroy();
            if (!worker.waitFor(30, TimeUnit.SECONDS)) worker.destroyForcibly();
        }
        procq.close();
    }

    @Test
    void workerReallyHoldsTheSecretsTheChildMustNotSee() throws Exception {
        String environ = new String(Files.readAllBytes(Path.of("/proc", Long.toString(worker.pid()), "environ")),
                StandardCharsets.UTF_8);
        assertThat(environ).contains("PROCQ_DATABASE_PASSWORD=", "PROCQ_API_TOKENS=" + API_TOKEN, AWS_SECRET);
    }

    @Test
    void childSeesOnlyTheDefaultAllowlistAndProcqsOwnVariables() throws Exception {
        Child child = run("defaults");
        assertThat(child.environment().keySet())
                .containsExactlyInAnyOrder("PATH", "LANG", "TZ", "PROCQ_JOB_ID", "PROCQ_BATCH_ID", "PROCQ_ATTEMPT", "PROCQ_WORKER_RUN");
        assertThat(child.environment()).containsEntry("PATH", PATH).containsEntry("LANG", "C.UTF-8").containsEntry("TZ", "UTC")
                .containsEntry("PROCQ_JOB_ID", Long.toString(child.jobId()))
                .containsEntry("PROCQ_BATCH_ID", Long.toString(child.batchId()))
                .containsEntry("PROCQ_ATTEMPT", "1");
        assertNoSecrets(child.raw());
    }

    @Test
    void childOfANarrowedTypeSeesItsPassEnvAndEnvOnly() throws Exception {
        Child child = run("narrowed");
        assertThat(child.environment().keySet()).containsExactlyInAnyOrder("PATH", "SERVICE_URL", "GREETING",
                "PROCQ_JOB_ID", "PROCQ_BATCH_ID", "PROCQ_ATTEMPT", "PROCQ_WORKER_RUN");
        assertThat(child.environment()).containsEntry("SERVICE_URL", "http://service.internal")
                .containsEntry("GREETING", "hello world")
                .containsEntry("PROCQ_JOB_ID", Long.toString(child.jobId()));
        assertNoSecrets(child.raw());
    }

    @Test
    void procqVariablesCannotBePassedToChildren() {
        assertThatThrownBy(() -> JobTypes.parse("""
                types:
                  leaky:
                    command: ["env", "{target}"]
                    passEnv: ["PATH", "PROCQ_DATABASE_PASSWORD"]
                """, "test"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("PROCQ_DATABASE_PASSWORD is procq's own configuration and may hold secrets");
    }

    record Child(long jobId, long batchId, Map<String, String> environment, String raw) {
    }

    private static void assertNoSecrets(String output) throws Exception {
        assertThat(output).doesNotContain(DB_PASSWORD, API_TOKEN, AWS_SECRET, "PROCQ_DATABASE", "PROCQ_API_TOKENS",
                "PROCQ_TOKEN=", "PROCQ_JOB_TYPES", "HOME=", "USER=");
        String realPassword = postgres.environment().get("PROCQ_DATABASE_PASSWORD");
        if (realPassword != null) assertThat(output).doesNotContain(realPassword);
    }

    private static Child run(String type) throws Exception {
        long batch = procq.submit(type, List.of("NOTHING_TO_UNSET"));
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("worker log:\n" + Files.readString(dir.resolve("worker.log")), e);
        }
        JsonNode item = procq.get("/api/v1/batches/" + batch + "/jobs").json().get("items").get(0);
        JsonNode job = procq.get("/api/v1/jobs/" + item.get("id").asLong()).json();
        assertThat(job.get("state").asText()).as(job.toString()).isEqualTo("OK");
        String tail = job.get("attempts").get(0).get("outputTail").asText();
        // PostgreSQL text holds no NUL, so the worker stores env -0's separators as the two characters \0.
        Map<String, String> environment = new HashMap<>();
        List<String> entries = new ArrayList<>(List.of(tail.split("\\\\0", -1)));
        assertThat(entries.remove(entries.size() - 1)).isEmpty();
        for (String entry : entries) {
            int equals = entry.indexOf('=');
            environment.put(entry.substring(0, equals), entry.substring(equals + 1));
        }
        return new Child(job.get("id").asLong(), batch, environment, tail);
    }
}
