package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.config.JobTypes;
import dev.procq.pool.ResourceUsage;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.worker.RecordedAttempts;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** GET /api/v1/jobs/{id}: every attempt, with what its child cost or JSON null where that is unknown. */
class JobHandlersTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** What the real worker of this class runs. */
    static final String WORKER_TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
            """;
    /**
     * The API knows one more type, which no worker runs: its attempts are ended with chosen costs
     * through the worker's write path. A tiny backoff lets the retry be claimed at once.
     */
    static final String API_TYPES = WORKER_TYPES + """
              costed:
                command: ["true", "{target}"]
                maxAttempts: 2
                backoff: 1ms
            """;

    static Procq api;
    static Procq worker;
    static RecordedAttempts attempts;

    @BeforeAll
    static void start() throws Exception {
        Map<String, String> env = Map.of("PROCQ_WORKER_METRICS_PORT", "off");
        api = new Procq(postgres, API_TYPES, env).checkedAgainst(OpenApiContract.load()).startApi();
        worker = new Procq(postgres, WORKER_TYPES, env);
        worker.startWorker();
        attempts = new RecordedAttempts(postgres.database(), JobTypes.parse(API_TYPES, "api types"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (worker != null) worker.close();
        if (api != null) api.close();
    }

    @Test
    void eachAttemptShowsTheCpuAndPeakMemoryItsChildUsed() throws Exception {
        api.submit("costed", List.of("retried.bin"));
        long job = attempts.finishNext("costed",
                RecordedAttempts.exited(3, new ResourceUsage(2_500_000, 750_000, 1_048_576)));
        // The second attempt's child cost nothing measurable, which is not the same as unknown.
        await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() ->
                attempts.finishNext("costed", RecordedAttempts.exited(0, new ResourceUsage(0, 0, 0))) == job);

        Procq.Response response = api.get("/api/v1/jobs/" + job);

        assertThat(response.status()).isEqualTo(200);
        JsonNode shown = response.json();
        assertThat(shown.get("state").asText()).isEqualTo("OK");
        JsonNode first = shown.get("attempts").get(0);
        assertThat(first.get("outcome").asText()).isEqualTo("FAILED");
        assertThat(first.get("cpuUserMs").isIntegralNumber()).isTrue();
        assertThat(first.get("cpuUserMs").asLong()).isEqualTo(2_500);
        assertThat(first.get("cpuSystemMs").asLong()).isEqualTo(750);
        assertThat(first.get("maxRssKb").asLong()).isEqualTo(1_048_576);
        JsonNode second = shown.get("attempts").get(1);
        assertThat(second.get("outcome").asText()).isEqualTo("OK");
        assertThat(List.of(second.get("cpuUserMs"), second.get("cpuSystemMs"), second.get("maxRssKb")))
                .allSatisfy(value -> assertThat(value.isIntegralNumber() && value.asLong() == 0).as(value.toString()).isTrue());
    }

    @Test
    void anAttemptWhoseCostIsUnknownShowsJsonNull() throws Exception {
        api.submit("costed", List.of("unmeasured.bin"));
        long job = attempts.finishNext("costed", RecordedAttempts.exited(0, null));

        JsonNode attempt = api.get("/api/v1/jobs/" + job).json().get("attempts").get(0);

        assertThat(attempt.get("outcome").asText()).isEqualTo("OK");
        for (String field : List.of("cpuUserMs", "cpuSystemMs", "maxRssKb")) {
            assertThat(attempt.has(field)).as(field + " present").isTrue();
            assertThat(attempt.get(field).isNull()).as(field + " is null").isTrue();
        }
    }

    @Test
    void aRealWorkersAttemptCarriesTheCostFieldsWhetherOrNotItsBackendMeasured() {
        long batch = api.submit("echo", List.of("hello"));
        await().atMost(Duration.ofSeconds(30)).until(() -> api.batch(batch).get("state").asText().equals("DONE"));
        long job = api.get("/api/v1/batches/" + batch + "/jobs").json().get("items").get(0).get("id").asLong();

        JsonNode attempt = api.get("/api/v1/jobs/" + job).json().get("attempts").get(0);

        assertThat(attempt.get("outcome").asText()).isEqualTo("OK");
        assertThat(attempt.get("outputTail").asText()).contains("hello");
        // Which backend ran it decides whether the figures are known; either way they are all there,
        // each a non-negative number or null.
        for (String field : List.of("cpuUserMs", "cpuSystemMs", "maxRssKb")) {
            JsonNode value = attempt.get(field);
            assertThat(value).as(field).isNotNull();
            assertThat(value.isNull() || (value.isIntegralNumber() && value.asLong() >= 0)).as(field + ": " + value).isTrue();
        }
    }
}
