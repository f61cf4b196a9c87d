package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariDataSource;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A key given twice in one JSON object is refused with a 400 that names it, wherever it is,
 * records nothing and holds nothing: no pooled connection, no open COPY, no waiting request.
 */
class DuplicateKeysTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
              other:
                command: ["echo", "{target}"]
            """;

    static Procq procq;

    @BeforeAll
    static void start() {
        // Fifty submissions at once from this one address: above the default per-client limit, which
        // would answer most of them 429 (SlowClientTest covers that); here every one must reach intake.
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_SUBMISSIONS_PER_CLIENT", "100")).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static Stream<Arguments> submissions() {
        return Stream.of(
                Arguments.of("type twice before the targets",
                        "{\"type\": \"echo\", \"type\": \"other\", \"targets\": [\"a\"]}", "type", "type"),
                Arguments.of("type again while the targets are being copied",
                        "{\"type\": \"echo\", \"targets\": [\"a\", \"b\"], \"type\": \"other\"}", "type", "type"),
                Arguments.of("targets twice",
                        "{\"type\": \"echo\", \"targets\": [\"a\"], \"targets\": [\"b\"]}", "targets", "targets"),
                Arguments.of("targets twice before the type",
                        "{\"targets\": [\"a\"], \"targets\": [\"b\"], \"type\": \"echo\"}", "targets", "targets"),
                Arguments.of("priority twice around the targets",
                        "{\"type\": \"echo\", \"priority\": 1, \"targets\": [\"a\"], \"priority\": 2}", "priority", "priority"),
                Arguments.of("a key twice inside scan",
                        "{\"type\": \"echo\", \"scan\": {\"root\": \"photos\", \"root\": \"other\", \"glob\": \"*.jpg\"}}",
                        "root", "scan.root"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("submissions")
    void duplicateKeyInASubmissionIsA400NamingItAndRecordsNothing(String name, String body, String key, String position) {
        long before = batchAndJobRows();
        Procq.Response response = procq.postJson("/api/v1/batches", body);
        assertThat(response.status()).as(response.body()).isEqualTo(400);
        assertThat(response.json().get("error").asText()).contains("duplicate key '" + position + "'");
        assertThat(response.json().get("detail").get("key").asText()).isEqualTo(key);
        assertThat(response.json().get("detail").get("position").asText()).isEqualTo(position);
        assertThat(batchAndJobRows()).isEqualTo(before);
        assertNothingHeld();
    }

    static Stream<Arguments> typeChanges() {
        return Stream.of(
                Arguments.of("{\"paused\": true, \"paused\": false}", "paused", "paused"),
                Arguments.of("{\"concurrency\": 2, \"labels\": [{\"a\": 1, \"a\": 2}]}", "a", "labels[0].a"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("typeChanges")
    void duplicateKeyInATypeChangeIsA400NamingItAndChangesNothing(String body, String key, String position) {
        List<String> before = jobTypeRows();
        Procq.Response response = procq.send("PATCH", "/api/v1/types/echo", body);
        assertThat(response.status()).as(response.body()).isEqualTo(400);
        assertThat(response.json().get("error").asText()).contains("duplicate key '" + position + "'");
        assertThat(response.json().get("detail").get("key").asText()).isEqualTo(key);
        assertThat(jobTypeRows()).isEqualTo(before);
    }

    @Test
    void fiftyParallelDuplicatesLeaveTheApiAnsweringAtOnce() throws Exception {
        long before = batchAndJobRows();
        List<String> bodies = submissions().map(arguments -> (String) arguments.get()[1]).toList();
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        List<CompletableFuture<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            HttpRequest request = HttpRequest.newBuilder(URI.create(procq.baseUrl() + "/api/v1/batches"))
                    .timeout(Duration.ofSeconds(20))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(bodies.get(i % bodies.size())))
                    .build();
            answers.add(http.sendAsync(request, HttpResponse.BodyHandlers.ofString()));
        }
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        for (CompletableFuture<HttpResponse<String>> answer : answers) {
            assertThat(answer.get().statusCode()).as(answer.get().body()).isEqualTo(400);
        }
        assertThat(batchAndJobRows()).isEqualTo(before);

        // Each answer came after its transaction ended; nothing is still being given back.
        assertNothingHeld();
        HttpClient impatient = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(1)).build();
        HttpResponse<String> submitted = impatient.send(HttpRequest.newBuilder(URI.create(procq.baseUrl() + "/api/v1/batches"))
                .timeout(Duration.ofSeconds(2))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"type\": \"echo\", \"targets\": [\"after\"]}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(202);
        HttpResponse<String> ready = impatient.send(HttpRequest.newBuilder(URI.create(procq.baseUrl() + "/readyz"))
                .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ready.statusCode()).isEqualTo(200);
        assertNothingHeld();
    }

    /** The API's pool has every connection back, and none of them is inside a statement or a transaction. */
    private static void assertNothingHeld() {
        HikariDataSource pool = (HikariDataSource) procq.database().dataSource();
        await().atMost(Duration.ofSeconds(2)).untilAsserted(() ->
                assertThat(pool.getHikariPoolMXBean().getActiveConnections()).isZero());
        List<String> busy = procq.database().jdbi().withHandle(h -> h.createQuery("""
                SELECT state || ': ' || query FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'
                """).mapTo(String.class).list());
        assertThat(busy).isEmpty();
    }

    private static long batchAndJobRows() {
        return procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT (SELECT count(*) FROM procq.batch) + (SELECT count(*) FROM procq.job)").mapTo(Long.class).one());
    }

    private static List<String> jobTypeRows() {
        return procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT name || ' ' || concurrency || ' ' || paused FROM procq.job_type ORDER BY name")
                .mapTo(String.class).list());
    }
}
