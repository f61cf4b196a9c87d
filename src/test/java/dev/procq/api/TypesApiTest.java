package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
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
        return procq.database().jdbi().withHandle(h -> h.createQuery("SELECT concurrency, paused FROM procq.job_type WHERE name = :n")
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
