package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.PrometheusText;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** An operator's UPDATE of procq.job_type (or PATCH /api/v1/types) steers a running worker, no restart. */
class LiveTypeSettingsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              slow:
                command: ["sleep", "{target}"]
                concurrency: 2
              quick:
                command: ["sleep", "{target}"]
                concurrency: 2
              tuned:
                command: ["sleep", "{target}"]
                concurrency: 2
            """;

    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_CONCURRENCY", "10", "PROCQ_WORKER_METRICS_PORT", "off"))
                .startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static long count(long batch, String state) {
        return procq.batch(batch).get("counts").get(state).asLong();
    }

    static void sql(String statement, Object... arguments) {
        procq.database().jdbi().useHandle(handle -> handle.execute(statement, arguments));
    }

    @Test
    void aConcurrencyChangeBySqlReachesARunningWorkerWithinSeconds() {
        long batch = procq.submit("slow", Collections.nCopies(8, "30"));
        await().atMost(Duration.ofSeconds(10)).until(() -> count(batch, "RUNNING") == 2);
        await().during(Duration.ofMillis(1500)).atMost(Duration.ofSeconds(3)).until(() -> count(batch, "RUNNING") == 2);

        sql("UPDATE procq.job_type SET concurrency = 5 WHERE name = 'slow'");

        await().atMost(Duration.ofSeconds(10)).until(() -> count(batch, "RUNNING") == 5);
        await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> count(batch, "RUNNING") == 5);
        assertThat(procq.post("/api/v1/batches/" + batch + "/cancel", null, "", Map.of()).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(15)).until(() -> count(batch, "RUNNING") == 0);
    }

    @Test
    void aPausedTypeClaimsNothingUntilResumed() {
        long batch = procq.submit("quick", Collections.nCopies(16, "1"));
        await().atMost(Duration.ofSeconds(10)).until(() -> count(batch, "RUNNING") == 2);

        sql("UPDATE procq.job_type SET paused = true WHERE name = 'quick'");
        await().atMost(Duration.ofSeconds(10)).until(() ->
                Double.valueOf(1).equals(PrometheusText.parse(procq.get("/metrics").body())
                        .value("procq_worker_type_paused", Map.of("type", "quick"))));
        // What was running finishes; nothing new starts while paused.
        await().atMost(Duration.ofSeconds(5)).until(() -> count(batch, "RUNNING") == 0);
        long pending = count(batch, "PENDING");
        assertThat(pending).isPositive();
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4))
                .until(() -> count(batch, "RUNNING") == 0 && count(batch, "PENDING") == pending);

        Procq.Response resumed = procq.send("PATCH", "/api/v1/types/quick", "{\"paused\": false, \"concurrency\": 8}");
        assertThat(resumed.status()).isEqualTo(200);
        assertThat(resumed.json().get("paused").asBoolean()).isFalse();

        await().atMost(Duration.ofSeconds(20)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        assertThat(count(batch, "OK")).isEqualTo(16);
    }

    @Test
    void theTypesEndpointShowsWhatTheWorkersFollow() {
        procq.send("PATCH", "/api/v1/types/tuned", "{\"concurrency\": 3}");
        JsonNode tuned = null;
        for (JsonNode type : procq.get("/api/v1/types").json()) {
            if (type.get("name").asText().equals("tuned")) tuned = type;
        }

        assertThat(tuned).isNotNull();
        assertThat(tuned.get("concurrency").asInt()).isEqualTo(3);
        assertThat(tuned.get("file").get("concurrency").asInt()).isEqualTo(2);
        await().atMost(Duration.ofSeconds(5)).until(() ->
                Double.valueOf(3).equals(PrometheusText.parse(procq.get("/metrics").body())
                        .value("procq_worker_type_concurrency", Map.of("type", "tuned"))));
    }
}
