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

/** POST .../pause and .../resume, and the failure budget of a submission, as the API answers them (no worker runs). */
class BatchPauseResumeApiTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, """
                types:
                  echo:
                    command: ["echo", "{target}"]
                    halt: {failedPercent: 20, after: 50}
                """, Map.of()).checkedAgainst(OpenApiContract.load()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void aBatchIsPausedAndResumedBeforeAnyWorkerSawIt() {
        long batch = procq.submit("echo", java.util.List.of("a", "b"));
        Procq.Response paused = procq.postJson("/api/v1/batches/" + batch + "/pause", "");
        assertThat(paused.status()).isEqualTo(200);
        assertThat(paused.json().get("state").asText()).isEqualTo("PAUSED");
        // Pausing twice is no error.
        assertThat(procq.postJson("/api/v1/batches/" + batch + "/pause", "").json().get("state").asText()).isEqualTo("PAUSED");
        Procq.Response resumed = procq.postJson("/api/v1/batches/" + batch + "/resume", "");
        assertThat(resumed.status()).isEqualTo(200);
        assertThat(resumed.json().get("state").asText()).isEqualTo("PENDING");
        assertThat(resumed.json().get("paused").asBoolean()).isFalse();
        assertThat(resumed.json().get("halt").get("failedPercent").asDouble()).isEqualTo(20.0);
        assertThat(resumed.json().get("halt").get("after").asLong()).isEqualTo(50);
    }

    @Test
    void theTypesBudgetIsCopiedUnlessTheSubmissionGivesOne() {
        JsonNode typeDefault = procq.batch(procq.submit("echo", java.util.List.of("a")));
        assertThat(typeDefault.get("halt").toString()).isEqualTo("{\"failedPercent\":20.0,\"after\":50}");
        assertThat(typeDefault.get("haltReason").isNull()).isTrue();

        Procq.Response own = procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"targets\": [\"a\"], \"halt\": {\"inARow\": 5}}");
        assertThat(own.status()).isEqualTo(202);
        assertThat(procq.batch(own.json().get("id").asLong()).get("halt").toString()).isEqualTo("{\"inARow\":5}");

        Procq.Response none = procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"halt\": {}, \"targets\": [\"a\"]}");
        assertThat(procq.batch(none.json().get("id").asLong()).get("halt").toString()).isEqualTo("{}");

        Procq.Response text = procq.post("/api/v1/batches?type=echo&halt=failed=7,inARow=3", "text/plain", "a\nb\n", Map.of());
        assertThat(text.status()).isEqualTo(202);
        assertThat(procq.batch(text.json().get("id").asLong()).get("halt").toString()).isEqualTo("{\"failed\":7,\"inARow\":3}");
    }

    @Test
    void aBadBudgetIsRefusedAndRecordsNothing() {
        long before = procq.get("/api/v1/batches?limit=1").json().get("items").path(0).path("id").asLong();
        assertRefused(procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"targets\": [\"a\"], \"halt\": {\"failed\": 0}}"),
                400, "halt.failed: 0 is out of range");
        assertRefused(procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"targets\": [\"a\"], \"halt\": {\"failedPercent\": 10}}"),
                400, "halt.failedPercent needs after");
        assertRefused(procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"targets\": [\"a\"], \"halt\": 3}"),
                400, "halt must be an object");
        assertRefused(procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"targets\": [\"a\"], \"halt\": {\"failed\": 1, \"failed\": 2}}"),
                400, "failed");
        assertRefused(procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"halt\": {}, \"halt\": {}, \"targets\": [\"a\"]}"),
                400, "halt");
        assertRefused(procq.post("/api/v1/batches?type=echo&halt=fails=3", "text/plain", "a\n", Map.of()),
                400, "halt: fails: unknown rule");
        assertThat(procq.get("/api/v1/batches?limit=1").json().get("items").path(0).path("id").asLong()).isEqualTo(before);
    }

    @Test
    void pauseAndResumeAnswerLikeTheOtherActions() {
        assertRefused(procq.postJson("/api/v1/batches/999999/pause", ""), 404, "batch 999999 not found");
        assertRefused(procq.postJson("/api/v1/batches/999999/resume", ""), 404, "batch 999999 not found");
        assertRefused(procq.postJson("/api/v1/batches/x/resume", ""), 400, "batch id must be a positive whole number");

        long batch = procq.submit("echo", java.util.List.of("a"));
        assertRefused(procq.postJson("/api/v1/batches/" + batch + "/resume", "{\"halt\": {\"failed\": -1}}"), 400, "halt.failed");
        assertRefused(procq.postJson("/api/v1/batches/" + batch + "/resume", "{\"budget\": {}}"), 400, "unknown field 'budget'");
        assertRefused(procq.postJson("/api/v1/batches/" + batch + "/resume", "[1]"), 400, "body must be empty or a JSON object");

        Procq.Response fresh = procq.postJson("/api/v1/batches/" + batch + "/resume", "{\"halt\": {\"failed\": 3}}");
        assertThat(fresh.status()).isEqualTo(200);
        assertThat(fresh.json().get("halt").toString()).isEqualTo("{\"failed\":3}");

        assertThat(procq.postJson("/api/v1/batches/" + batch + "/cancel", "").status()).isEqualTo(200);
        assertRefused(procq.postJson("/api/v1/batches/" + batch + "/pause", ""), 409, "is CANCELLED: nothing to pause");
        Procq.Response conflict = procq.postJson("/api/v1/batches/" + batch + "/resume", "");
        assertRefused(conflict, 409, "is CANCELLED: nothing to resume");
        assertThat(conflict.json().get("detail").get("state").asText()).isEqualTo("CANCELLED");
    }

    private static void assertRefused(Procq.Response response, int status, String message) {
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        assertThat(response.json().get("error").asText()).contains(message);
    }
}
