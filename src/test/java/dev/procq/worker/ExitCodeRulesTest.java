package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A type's exitCodes decide what a real child's end means: OK, a retry, or FAILED at once; and
 * every attempt says which rule decided it (procq.job_attempt.decided_by, the API's decidedBy).
 */
class ExitCodeRulesTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** Every type exits with its target as the exit code, like curl with its own codes. */
    static final String EXIT = "[\"sh\", \"-c\", \"echo \\\"exiting with $1\\\"; exit \\\"$1\\\"\", \"exit\", \"{target}\"]";
    static final String TYPES = """
            types:
              curlish:
                command: %s
                maxAttempts: 3
                backoff: 100ms
                exitCodes:
                  ok: [0, 1]
                  failNow: [3, 6]
              listed:
                command: %s
                maxAttempts: 3
                backoff: 100ms
                exitCodes:
                  retry: [7, "28-30"]
              unruled:
                command: %s
                maxAttempts: 2
                backoff: 100ms
              slow:
                command: ["sleep", "{target}"]
                maxAttempts: 3
                backoff: 100ms
                timeout: 500ms
                exitCodes: {retryOnTimeout: false}
              killed:
                command: ["sh", "-c", "kill -9 $$", "killed", "{target}"]
                maxAttempts: 3
                backoff: 100ms
                exitCodes: {retryOnSignal: false}
              steered:
                command: %s
                maxAttempts: 2
                backoff: 100ms
            """.formatted(EXIT, EXIT, EXIT, EXIT);

    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_METRICS_PORT", "off")).startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    /** Runs one target to its final state and returns the job with its attempts. */
    static JsonNode runToTheEnd(String type, String target) {
        long batch = procq.submit(type, List.of(target));
        await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        long job = procq.get("/api/v1/batches/" + batch + "/jobs").json().get("items").get(0).get("id").asLong();
        return procq.get("/api/v1/jobs/" + job).json();
    }

    static List<String> decidedBy(JsonNode job) {
        List<String> rules = new ArrayList<>();
        for (JsonNode attempt : job.get("attempts")) rules.add(attempt.get("decidedBy").asText());
        return rules;
    }

    @Test
    void anOkListedNonZeroCodeEndsOk() {
        JsonNode job = runToTheEnd("curlish", "1");
        assertThat(job.get("state").asText()).isEqualTo("OK");
        assertThat(job.get("exitCode").asInt()).isEqualTo(1);
        assertThat(job.get("error").isNull()).isTrue();
        assertThat(job.get("attempts").get(0).get("outcome").asText()).isEqualTo("OK");
        assertThat(decidedBy(job)).containsExactly("ok: exit 1");
    }

    @Test
    void aFailNowCodeIsNeverRetried() {
        JsonNode job = runToTheEnd("curlish", "3");
        assertThat(job.get("state").asText()).isEqualTo("FAILED");
        assertThat(job.get("maxAttempts").asInt()).isEqualTo(3);
        assertThat(decidedBy(job)).containsExactly("failNow: exit 3");
    }

    @Test
    void aCodeNoRuleNamesRetriesByDefault() {
        assertThat(decidedBy(runToTheEnd("curlish", "2"))).containsExactly("default: exit 2", "default: exit 2", "default: exit 2");
        assertThat(decidedBy(runToTheEnd("unruled", "1"))).containsExactly("default: exit 1", "default: exit 1");
        assertThat(decidedBy(runToTheEnd("unruled", "0"))).containsExactly("ok: exit 0");
    }

    @Test
    void aRetryListedCodeRetriesUntilTheAttemptsRunOut() {
        JsonNode job = runToTheEnd("listed", "29");
        assertThat(job.get("state").asText()).isEqualTo("FAILED");
        assertThat(decidedBy(job)).containsExactly("retry: exit 29", "retry: exit 29", "retry: exit 29");
    }

    @Test
    void withARetryListAnUnlistedCodeFailsAtOnce() {
        JsonNode job = runToTheEnd("listed", "5");
        assertThat(job.get("state").asText()).isEqualTo("FAILED");
        assertThat(decidedBy(job)).containsExactly("no retry: exit 5");
    }

    @Test
    void retryOnTimeoutFalseMakesATimeoutFinal() {
        JsonNode job = runToTheEnd("slow", "30");
        assertThat(job.get("state").asText()).isEqualTo("FAILED");
        assertThat(job.get("attempts").get(0).get("outcome").asText()).isEqualTo("TIMEOUT");
        assertThat(decidedBy(job)).containsExactly("no retry: timeout");
    }

    @Test
    void retryOnSignalFalseMakesASignalFinal() {
        JsonNode job = runToTheEnd("killed", "x");
        assertThat(job.get("state").asText()).isEqualTo("FAILED");
        assertThat(decidedBy(job)).containsExactly("no retry: signal 9");
    }

    @Test
    void rulesSetInProcqJobTypeReachARunningWorkerAndTheApiShowsThem() {
        procq.database().jdbi().useHandle(handle -> handle.execute(
                "UPDATE procq.job_type SET exit_codes = '{\"ok\": [0, \"4-5\"], \"failNow\": [9]}' WHERE name = 'steered'"));
        await().atMost(Duration.ofSeconds(10)).until(() -> steered().get("exitCodesSource").asText().equals("procq.job_type"));
        JsonNode type = steered();
        assertThat(type.get("exitCodes").get("ok").toString()).isEqualTo("[0,\"4-5\"]");
        assertThat(type.get("file").get("exitCodes").get("ok").toString()).isEqualTo("[0]");

        // Workers re-read procq.job_type every LiveTypes.REFRESH_INTERVAL; until then exit 4 still
        // fails (and retries) under the file's rules.
        await().atMost(Duration.ofSeconds(30))
                .until(() -> decidedBy(runToTheEnd("steered", "4")).equals(List.of("ok: exit 4")));
        assertThat(decidedBy(runToTheEnd("steered", "9"))).containsExactly("failNow: exit 9");

        Procq.Response reset = procq.send("PATCH", "/api/v1/types/steered", "{\"exitCodes\": null}");
        assertThat(reset.status()).isEqualTo(200);
        assertThat(reset.json().get("exitCodesSource").asText()).isEqualTo("file");
        Procq.Response bad = procq.send("PATCH", "/api/v1/types/steered", "{\"exitCodes\": {\"ok\": [0], \"failNow\": [0]}}");
        assertThat(bad.status()).isEqualTo(400);
        assertThat(bad.body()).contains("exit code 0 is in both ok and failNow");
    }

    static JsonNode steered() {
        for (JsonNode type : procq.get("/api/v1/types").json()) {
            if (type.get("name").asText().equals("steered")) return type;
        }
        throw new AssertionError("no type 'steered' in /api/v1/types");
    }
}
