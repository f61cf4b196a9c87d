package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** GET /api/v1/workers against a real worker and rows written the way other hosts' workers write them. */
class WorkersApiTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              sleep:
                command: ["sleep", "{target}"]
                concurrency: 2
                targetPattern: '^[0-9]+$'
            """;

    static final Map<String, String> READER = Map.of("Authorization", "Bearer r3ad");
    static final Map<String, String> SUBMITTER = Map.of("Authorization", "Bearer subm1t");

    static Procq procq;
    static Worker worker;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_API_TOKENS", "read:grafana=r3ad,submit:ci=subm1t",
                "PROCQ_WORKER_CONCURRENCY", "3")).checkedAgainst(OpenApiContract.load()).startApi();
        worker = procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static List<JsonNode> workers() {
        Procq.Response response = procq.get("/api/v1/workers", READER);
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        List<JsonNode> all = new ArrayList<>();
        response.json().forEach(all::add);
        return all;
    }

    static JsonNode worker(long id) {
        return workers().stream().filter(w -> w.get("id").asLong() == id).findFirst().orElse(null);
    }

    /**
     * A worker row as another host's worker writes it (pid 4242, concurrency 8, release 0.9.1,
     * metrics on 9470), heard from {@code heartbeatAgo} ago and stopped {@code stoppedAgo} ago (null: not stopped).
     */
    static long insertWorker(Jdbi jdbi, String host, String heartbeatAgo, String stoppedAgo) {
        return jdbi.withHandle(h -> h.createQuery("""
                INSERT INTO procq.worker (host, pid, concurrency, types, metrics_port, version, started_at, heartbeat_at, stopped_at)
                VALUES (:host, 4242, 8, ARRAY['sleep'], 9470, '0.9.1', now() - interval '3 hours',
                        now() - CAST(:heartbeatAgo AS interval), now() - CAST(:stoppedAgo AS interval))
                RETURNING id""").bind("host", host).bind("heartbeatAgo", heartbeatAgo).bind("stoppedAgo", stoppedAgo)
                .mapTo(Long.class).one());
    }

    @Test
    void aRunningWorkerIsListedWithWhatItHoldsNow() {
        long batch = procq.post("/api/v1/batches", "application/json",
                "{\"type\": \"sleep\", \"targets\": [\"30\", \"30\", \"30\"]}", SUBMITTER).json().get("id").asLong();
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> worker(worker.id()).get("running").asLong() == 2);
            JsonNode self = worker(worker.id());
            assertThat(self.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
            assertThat(self.get("host").asText()).isNotBlank();
            assertThat(self.get("concurrency").asInt()).isEqualTo(3);
            assertThat(self.get("types").toString()).isEqualTo("[\"sleep\"]");
            assertThat(self.get("heartbeatAgeSeconds").asDouble()).isBetween(0.0, 10.0);
            assertThat(self.get("stoppedAt").isNull()).isTrue();
            // Run from classes, not from the jar: no release to name, and no /metrics of its own here.
            assertThat(self.get("version").isNull()).isTrue();
            assertThat(self.get("metricsPort").isNull()).isTrue();
            assertThat(self.get("startedAt").asText()).isNotBlank();
            assertThat(self.get("heartbeatAt").asText()).isNotBlank();
        } finally {
            procq.post("/api/v1/batches/" + batch + "/cancel", null, "", SUBMITTER);
        }
    }

    @Test
    void workersOfOtherHostsShowTheirVersionPortAndHeartbeatAge() {
        long quiet = insertWorker(procq.database().jdbi(), "render-07", "42 seconds", null);
        long stoppedLately = insertWorker(procq.database().jdbi(), "render-08", "5 minutes", "5 minutes");
        long longGone = insertWorker(procq.database().jdbi(), "render-09", "2 hours", null);

        JsonNode shown = worker(quiet);
        assertThat(shown.get("host").asText()).isEqualTo("render-07");
        assertThat(shown.get("pid").asLong()).isEqualTo(4242);
        assertThat(shown.get("version").asText()).isEqualTo("0.9.1");
        assertThat(shown.get("metricsPort").asInt()).isEqualTo(9470);
        assertThat(shown.get("running").asLong()).isZero();
        assertThat(shown.get("heartbeatAgeSeconds").asDouble()).isBetween(42.0, 60.0);
        assertThat(worker(stoppedLately).get("stoppedAt").isNull()).isFalse();
        assertThat(worker(longGone)).as("a run not heard from for over an hour").isNull();
        // Newest first.
        List<Long> ids = workers().stream().map(w -> w.get("id").asLong()).toList();
        assertThat(ids).isSortedAccordingTo((a, b) -> Long.compare(b, a)).contains(worker.id(), quiet, stoppedLately);
    }

    @Test
    void everyScopeMayReadWorkersButOnlyWithAToken() {
        assertThat(procq.get("/api/v1/workers").status()).isEqualTo(401);
        assertThat(procq.get("/api/v1/workers", Map.of("Authorization", "Bearer wrong")).status()).isEqualTo(401);
        assertThat(procq.get("/api/v1/workers", SUBMITTER).status()).isEqualTo(200);
        assertThat(procq.get("/api/v1/workers", READER).status()).isEqualTo(200);
        Procq.Response refused = procq.send("POST", "/api/v1/workers", "{}", READER);
        assertThat(refused.status()).isIn(404, 405);
    }
}
