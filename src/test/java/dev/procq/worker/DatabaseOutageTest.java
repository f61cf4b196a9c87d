package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procq.api.ApiServer;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.metrics.Metrics;
import dev.procq.store.Database;
import dev.procq.testing.LiveProcesses;
import dev.procq.testing.WorkerProcess;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PostgreSQL stopped and started again under a running API and worker JVM. This test owns its
 * own embedded PostgreSQL (fixed port, data kept on disk) so it can take it away; the machine's
 * shared server is never touched.
 */
class DatabaseOutageTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TYPES = """
            types:
              nap:
                command: ["sleep", "{target}"]
                concurrency: 4
            """;

    @TempDir
    Path dir;

    int port;
    EmbeddedPostgres postgres;
    Database database;
    ApiServer api;
    WorkerProcess worker;
    WorkerProcess bystander;
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void tearDown() throws IOException {
        if (worker != null) worker.close();
        if (bystander != null) bystander.close();
        if (api != null) api.close();
        if (database != null) database.close();
        if (postgres != null) postgres.close();
    }

    EmbeddedPostgres startPostgres() throws IOException {
        return EmbeddedPostgres.builder()
                .setPort(port)
                .setDataDirectory(dir.resolve("pgdata"))
                .setCleanDataDirectory(false)
                .start();
    }

    @Test
    void apiAnswers503WhileTheDatabaseIsDownAndNoJobIsLostAcrossTheRestart() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        postgres = startPostgres();
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
        Settings settings = new Settings(Map.of("PROCQ_DATABASE_URL", url, "PROCQ_DATABASE_USER", "postgres",
                "PROCQ_HTTP_PORT", "0"));
        database = new Database(settings.requireDatabase("test"), "test-api", 4);
        database.migrate();
        Jdbi jdbi = database.jdbi();
        api = new ApiServer(settings, database, JobTypes.parse(TYPES, "test"), new Metrics("test")).start();

        Path jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, TYPES);
        Map<String, String> env = new HashMap<>(Map.of("PROCQ_DATABASE_URL", url, "PROCQ_DATABASE_USER", "postgres",
                "PROCQ_JOB_TYPES", jobTypes.toString(), "PROCQ_WORKER_CONCURRENCY", "4", "PROCQ_LEASE", "4s",
                "PROCQ_KILL_GRACE", "500ms"));
        worker = WorkerProcess.start("outage", env);
        // A second worker, for other types: it rescues expired leases of any type, and must not
        // take the first one's jobs just because nobody could renew while the database was down.
        Path otherTypes = dir.resolve("other.yaml");
        Files.writeString(otherTypes, "types:\n  other:\n    command: [\"echo\", \"{target}\"]\n");
        Map<String, String> bystanderEnv = new HashMap<>(env);
        bystanderEnv.put("PROCQ_JOB_TYPES", otherTypes.toString());
        bystander = WorkerProcess.start("outage-bystander", bystanderEnv);
        worker.awaitRegistered(jdbi);
        bystander.awaitRegistered(jdbi);

        // Two children that end by themselves while the database is down, two that would run past
        // their lease (4 s) and are ended first, and four more that wait for the database.
        String during = "1.5" + ThreadLocalRandom.current().nextInt(100_000, 1_000_000);
        String beyond = "9." + ThreadLocalRandom.current().nextInt(100_000, 1_000_000);
        List<String> targets = new ArrayList<>(List.of(during, during, beyond, beyond));
        for (int i = 0; i < 4; i++) targets.add("0.5");
        HttpResponse<String> created = post("/api/v1/batches", JSON.writeValueAsString(Map.of("type", "nap", "targets", targets)));
        assertThat(created.statusCode()).isEqualTo(202);
        long batch = JSON.readTree(created.body()).get("id").asLong();
        await().atMost(Duration.ofSeconds(20)).until(() -> LiveProcesses.running("sleep", during).size() == 2
                && LiveProcesses.running("sleep", beyond).size() == 2);

        postgres.close();
        long down = System.nanoTime();

        // Side by side: each waits for the pool's connection timeout before it answers.
        CompletableFuture<HttpResponse<String>> read = async(() -> get("/api/v1/batches/" + batch));
        CompletableFuture<HttpResponse<String>> submit = async(() -> post("/api/v1/batches",
                JSON.writeValueAsString(Map.of("type", "nap", "targets", List.of("1")))));
        CompletableFuture<HttpResponse<String>> ready = async(() -> get("/readyz"));
        assertThat(get("/healthz").statusCode()).isEqualTo(200);
        assertUnavailable(read.get());
        System.out.printf("recovery: database down: the API answered 503 after %.1fs%n", (System.nanoTime() - down) / 1e9);
        assertUnavailable(submit.get());
        assertThat(ready.get().statusCode()).isEqualTo(503);
        assertThat(JSON.readTree(ready.get().body()).get("error").asText()).isEqualTo("database unreachable");

        // Unable to renew, the worker ends the long children before their leases could run out:
        // for all it knows, another worker could take them over then.
        await().atMost(Duration.ofSeconds(4)).until(() -> LiveProcesses.running("sleep", beyond).isEmpty());
        System.out.printf("recovery: database down: the worker ended the children it could not vouch for after %.1fs%n",
                (System.nanoTime() - down) / 1e9);
        // Down for longer than a lease, while the short children finish.
        await().atMost(Duration.ofSeconds(20))
                .until(() -> LiveProcesses.running("sleep", during).isEmpty() && System.nanoTime() - down > 6e9);
        assertThat(worker.isAlive()).isTrue();
        postgres = startPostgres();
        long up = System.nanoTime();
        System.out.printf("recovery: database down for %.1fs (lease 4s)%n", (up - down) / 1e9);

        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                .until(() -> get("/api/v1/batches/" + batch).statusCode() == 200);
        double apiBack = (System.nanoTime() - up) / 1e9;
        assertThat(get("/readyz").statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> JSON.readTree(get("/api/v1/batches/" + batch).body()).get("state").asText().equals("DONE"));
        System.out.printf("recovery: after the restart the API answered 200 in %.1fs, the batch was DONE in %.1fs%n",
                apiBack, (System.nanoTime() - up) / 1e9);

        // The results held through the outage were written; the children ended at their deadline
        // were handed back without counting the attempt and ran once more; and no lease that ran
        // out while nobody could renew it was rescued.
        List<Map<String, Object>> jobs = jdbi.withHandle(h -> h.createQuery("""
                SELECT j.target, j.state, j.attempts, array_agg(a.outcome ORDER BY a.attempt)::text AS outcomes
                  FROM procq.job j LEFT JOIN procq.job_attempt a ON a.job_id = j.id
                 WHERE j.batch_id = :b GROUP BY j.id""").bind("b", batch).mapToMap().list());
        assertThat(jobs).hasSize(8).allSatisfy(job -> {
            assertThat(job.get("state")).isEqualTo("OK");
            if (job.get("target").equals(beyond)) {
                assertThat(job.get("outcomes")).isEqualTo("{LOST,OK}");
            } else {
                assertThat(job.get("attempts")).isEqualTo(1);
                assertThat(job.get("outcomes")).isEqualTo("{OK}");
            }
        });
    }

    interface Call {
        HttpResponse<String> send() throws Exception;
    }

    static CompletableFuture<HttpResponse<String>> async(Call call) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return call.send();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    static void assertUnavailable(HttpResponse<String> response) throws IOException {
        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
        JsonNode body = JSON.readTree(response.body());
        assertThat(body.get("error").asText()).isEqualTo("database unavailable; try again shortly");
        // Nothing of the server's insides: no exception, no stack frame, no SQL.
        assertThat(response.body()).doesNotContain("Exception", "at org.", "at dev.", "SELECT", "INSERT", "procq.", "jdbc");
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
