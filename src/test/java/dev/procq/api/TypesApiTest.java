package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.worker.RecordedAttempts;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** GET /api/v1/types and PATCH /api/v1/types/{name}, with no worker running. */
class TypesApiTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              thumbnail:
                command: ["echo", "{target}"]
                concurrency: 4
                timeout: 60s
                maxAttempts: 3
                backoff: 2s
                targetPattern: '\\.jpe?g$'
                halt: {failedPercent: 20, after: 50}
              echo:
                command: ["echo", "{target}"]
              guarded:
                command: ["echo", "{target}"]
                halt: {inARow: 5}
              legacy:
                command: ["echo", "{target}"]
                halt: {failed: 7}
            """;

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_API_TOKENS", "t0ken")).checkedAgainst(OpenApiContract.load()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static final Map<String, String> AUTH = Map.of("Authorization", "Bearer t0ken");

    static JsonNode type(String name) {
        for (JsonNode type : procq.get("/api/v1/types", AUTH).json()) {
            if (type.get("name").asText().equals(name)) return type;
        }
        return null;
    }

    static Map<String, Object> row(String name) {
        return procq.database().jdbi().withHandle(h -> h.createQuery("""
                        SELECT concurrency, paused, halt_failed, halt_failed_percent, halt_after, halt_in_a_row, halt_seeded
                          FROM procq.job_type WHERE name = :n""")
                .bind("n", name).mapToMap().findOne().orElse(null));
    }

    @Test
    void typesListTheLiveValuesAndTheFileSettings() {
        JsonNode thumbnail = type("thumbnail");

        assertThat(thumbnail.get("concurrency").asInt()).isEqualTo(4);
        assertThat(thumbnail.get("paused").asBoolean()).isFalse();
        JsonNode file = thumbnail.get("file");
        assertThat(file.get("concurrency").asInt()).isEqualTo(4);
        assertThat(file.get("timeout").asText()).isEqualTo("1m");
        assertThat(file.get("maxAttempts").asInt()).isEqualTo(3);
        assertThat(file.get("backoff").asText()).isEqualTo("2s");
        assertThat(file.get("targetPattern").asText()).isEqualTo("\\.jpe?g$");
        assertThat(file.get("allowDashTargets").asBoolean()).isFalse();
        assertThat(file.get("halt").toString()).isEqualTo("{\"failedPercent\":20.0,\"after\":50}");
        assertThat(type("echo").get("file").get("halt").toString()).isEqualTo("{}");
        assertThat(type("echo").get("file").get("timeout").isNull()).isTrue();
    }

    @Test
    void patchChangesTheRowWorkersRead() {
        Procq.Response response = procq.send("PATCH", "/api/v1/types/echo", "{\"concurrency\": 12, \"paused\": true}", AUTH);

        assertThat(response.status()).as(response.body()).isEqualTo(200);
        assertThat(response.json().get("concurrency").asInt()).isEqualTo(12);
        assertThat(response.json().get("paused").asBoolean()).isTrue();
        assertThat(row("echo")).containsEntry("concurrency", 12).containsEntry("paused", true);

        Procq.Response onlyPause = procq.send("PATCH", "/api/v1/types/echo", "{\"paused\": false}", AUTH);
        assertThat(onlyPause.json().get("concurrency").asInt()).as("untouched").isEqualTo(12);
        assertThat(row("echo")).containsEntry("paused", false);
        assertThat(type("echo").get("file").get("concurrency").asInt()).as("the file's value stays visible").isEqualTo(4);
    }

    @Test
    void patchSetsAndClearsTheClusterWideLimit() {
        Procq.Response set = procq.send("PATCH", "/api/v1/types/echo", "{\"globalConcurrency\": 6}", AUTH);
        assertThat(set.status()).as(set.body()).isEqualTo(200);
        assertThat(set.json().get("globalConcurrency").asInt()).isEqualTo(6);
        assertThat(set.json().get("running").asInt()).isZero();
        assertThat(globalConcurrency("echo")).isEqualTo(6);

        Procq.Response cleared = procq.send("PATCH", "/api/v1/types/echo", "{\"globalConcurrency\": null}", AUTH);
        assertThat(cleared.status()).as(cleared.body()).isEqualTo(200);
        assertThat(cleared.json().get("globalConcurrency").isNull()).isTrue();
        assertThat(globalConcurrency("echo")).isNull();
    }

    static Integer globalConcurrency(String name) {
        return procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT global_concurrency FROM procq.job_type WHERE name = :n").bind("n", name)
                .mapTo(Integer.class).findOne().orElse(null));
    }

    /** The failure budget a batch got at intake, as GET /api/v1/batches/{id} shows it. */
    static String budgetOfNewBatch(String type, String haltField) {
        Procq.Response submitted = procq.post("/api/v1/batches", "application/json",
                "{\"type\": \"" + type + "\", " + haltField + "\"targets\": [\"a\"]}", AUTH);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        return procq.get("/api/v1/batches/" + submitted.json().get("id").asLong(), AUTH).json().get("halt").toString();
    }

    @Test
    void theDefaultFailureBudgetIsLiveAndNewBatchesGetIt() {
        assertThat(type("guarded").get("halt").toString()).as("the file's, before any row").isEqualTo("{\"inARow\":5}");
        assertThat(budgetOfNewBatch("guarded", "")).isEqualTo("{\"inARow\":5}");

        Procq.Response set = procq.send("PATCH", "/api/v1/types/guarded", "{\"halt\": {\"failed\": 3}}", AUTH);
        assertThat(set.status()).as(set.body()).isEqualTo(200);
        assertThat(set.json().get("halt").toString()).isEqualTo("{\"failed\":3}");
        assertThat(set.json().get("file").get("halt").toString()).as("the file's stays visible").isEqualTo("{\"inARow\":5}");
        assertThat(row("guarded")).containsEntry("halt_failed", 3L).containsEntry("halt_in_a_row", null);
        assertThat(budgetOfNewBatch("guarded", "")).isEqualTo("{\"failed\":3}");
        assertThat(budgetOfNewBatch("guarded", "\"halt\": {\"failed\": 9}, ")).as("a submission's own wins")
                .isEqualTo("{\"failed\":9}");

        // An operator's UPDATE in psql reaches the next submission too.
        procq.database().jdbi().useHandle(h -> h.execute("""
                UPDATE procq.job_type SET halt_failed = NULL, halt_failed_percent = 10, halt_after = 20
                 WHERE name = 'guarded'"""));
        assertThat(type("guarded").get("halt").toString()).isEqualTo("{\"failedPercent\":10.0,\"after\":20}");
        assertThat(budgetOfNewBatch("guarded", "")).isEqualTo("{\"failedPercent\":10.0,\"after\":20}");

        Procq.Response cleared = procq.send("PATCH", "/api/v1/types/guarded", "{\"halt\": null}", AUTH);
        assertThat(cleared.json().get("halt").toString()).isEqualTo("{}");
        assertThat(budgetOfNewBatch("guarded", "")).as("none").isEqualTo("{}");
    }

    @Test
    void aRowFromBeforeTheBudgetWasKeptGetsTheFilesOnce() {
        // What V13 leaves of a row that existed before it: no budget, not seeded.
        procq.database().jdbi().useHandle(h -> h.execute(
                "INSERT INTO procq.job_type (name, concurrency, halt_seeded) VALUES ('legacy', 2, false)"));
        assertThat(type("legacy").get("halt").toString()).isEqualTo("{\"failed\":7}");
        assertThat(budgetOfNewBatch("legacy", "")).as("the file's until seeded").isEqualTo("{\"failed\":7}");

        procq.send("PATCH", "/api/v1/types/legacy", "{\"concurrency\": 3}", AUTH);
        assertThat(row("legacy")).containsEntry("halt_failed", 7L).containsEntry("halt_seeded", true)
                .containsEntry("concurrency", 3);

        procq.send("PATCH", "/api/v1/types/legacy", "{\"halt\": {}}", AUTH);
        procq.send("PATCH", "/api/v1/types/legacy", "{\"concurrency\": 4}", AUTH);
        assertThat(row("legacy")).as("seeded once: afterwards the row wins").containsEntry("halt_failed", null);
        assertThat(budgetOfNewBatch("legacy", "")).isEqualTo("{}");
    }

    @Test
    void throughputCountsTheAttemptsOfTheLastMinute() throws Exception {
        RecordedAttempts attempts = RecordedAttempts.of(procq, TYPES);
        long before = type("echo").get("finishedLastMinute").asLong();
        long okBefore = type("echo").get("okLastMinute").asLong();
        Procq.Response batch = procq.post("/api/v1/batches", "application/json",
                "{\"type\": \"echo\", \"targets\": [\"a\", \"b\", \"c\"]}", AUTH);
        assertThat(batch.status()).as(batch.body()).isEqualTo(202);
        attempts.finishNext("echo", RecordedAttempts.exited(0, null));
        attempts.finishNext("echo", RecordedAttempts.exited(0, null));
        long failed = attempts.finishNext("echo", RecordedAttempts.exited(3, null));

        assertThat(type("echo").get("finishedLastMinute").asLong()).isEqualTo(before + 3);
        assertThat(type("echo").get("okLastMinute").asLong()).isEqualTo(okBefore + 2);
        assertThat(type("thumbnail").get("finishedLastMinute").asLong()).as("another type's").isZero();

        // An attempt that ended longer ago than a minute no longer counts.
        procq.database().jdbi().useHandle(h -> h.createUpdate(
                "UPDATE procq.job_attempt SET finished_at = now() - interval '2 minutes' WHERE job_id = :id")
                .bind("id", failed).execute());
        assertThat(type("echo").get("finishedLastMinute").asLong()).isEqualTo(before + 2);
        assertThat(type("echo").get("okLastMinute").asLong()).isEqualTo(okBefore + 2);
    }

    @Test
    void aTypeOnlyTheTableKnowsIsListedAndSteerable() {
        procq.database().jdbi().useHandle(h -> h.execute("INSERT INTO procq.job_type (name, concurrency) VALUES ('retired', 2)"));

        assertThat(type("retired").get("file").isNull()).isTrue();
        Procq.Response response = procq.send("PATCH", "/api/v1/types/retired", "{\"paused\": true}", AUTH);
        assertThat(response.status()).isEqualTo(200);
        assertThat(row("retired")).containsEntry("paused", true);
    }

    @Test
    void anUnknownTypeIs404() {
        Procq.Response response = procq.send("PATCH", "/api/v1/types/nope", "{\"paused\": true}", AUTH);

        assertThat(response.status()).isEqualTo(404);
        assertThat(response.json().get("error").asText()).isEqualTo("job type 'nope' not found");
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "{}",
            "{\"concurrency\": 0}",
            "{\"concurrency\": -1}",
            "{\"concurrency\": 1.5}",
            "{\"concurrency\": \"8\"}",
            "{\"concurrency\": 100001}",
            "{\"paused\": \"yes\"}",
            "{\"paused\": null}",
            "{\"globalConcurrency\": 0}",
            "{\"globalConcurrency\": \"5\"}",
            "{\"halt\": {\"failed\": 0}}",
            "{\"halt\": 5}",
            "{\"halt\": \"failed=5\"}",
            "{\"halt\": {\"failedPercent\": 20}}",
            "{\"halt\": {\"nope\": 1}}",
            "{\"concurrency\": 5, \"halt\": {\"failed\": \"x\"}}",
            "{\"name\": \"other\"}",
            "[1]",
            "not json",
            "",
    })
    void aBadChangeIs400AndChangesNothing(String body) {
        Map<String, Object> before = row("thumbnail");

        Procq.Response response = procq.send("PATCH", "/api/v1/types/thumbnail", body, AUTH);

        assertThat(response.status()).as(body + " -> " + response.body()).isEqualTo(400);
        assertThat(response.json().get("error").asText()).isNotBlank();
        assertThat(row("thumbnail")).isEqualTo(before);
    }

    @Test
    void typesNeedTheTokenLikeEveryApiCall() {
        assertThat(procq.get("/api/v1/types").status()).isEqualTo(401);
        assertThat(procq.send("PATCH", "/api/v1/types/echo", "{\"paused\": true}", Map.of()).status()).isEqualTo(401);
    }
}
