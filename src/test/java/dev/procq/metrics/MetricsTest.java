package dev.procq.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.PrometheusText;
import dev.procq.testing.Procq;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** /metrics is valid Prometheus text, and its meters move with the work. */
class MetricsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              exit:
                command: ["sh", "-c", "exit \\"$1\\"", "exit", "{target}"]
                concurrency: 4
              ghost:
                command: ["procq-no-such-program", "{target}"]
                concurrency: 1
              held:
                command: ["sh", "-c", "sleep $1; exit 1", "held", "{target}"]
                concurrency: 1
            """;

    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        // A short lease: rescues wait one lease plus a margin after the database server starts.
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_CONCURRENCY", "4", "PROCQ_WORKER_METRICS_PORT", "off",
                "PROCQ_LEASE", "2s", "PROCQ_KILL_GRACE", "500ms"));
        procq.database().bindMetrics(procq.metrics().registry());
        procq.startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static PrometheusText scrape() {
        Procq.Response response = procq.get("/metrics");
        assertThat(response.status()).isEqualTo(200);
        assertThat(response.header("Content-Type")).startsWith("text/plain; version=0.0.4");
        return PrometheusText.parse(response.body());
    }

    static double value(PrometheusText scrape, String name, Map<String, String> labels) {
        Double value = scrape.value(name, labels);
        assertThat(value).as(name + labels + " in /metrics").isNotNull();
        return value;
    }

    static double histogramCount(PrometheusText scrape, String name, String type) {
        return value(scrape, name + "_count", Map.of("type", type));
    }

    @Test
    void countersMoveWithTheWork() {
        PrometheusText before = scrape();
        // Present at zero before anything of the type ran, so rate() and alerts have a series.
        assertThat(value(before, "procq_worker_attempts_total", Map.of("type", "ghost", "outcome", "SPAWN_FAILED"))).isZero();

        long ok = procq.submit("exit", List.of("0", "0", "0", "5"));
        long ghost = procq.submit("ghost", List.of("a"));
        awaitDone(ok);
        awaitDone(ghost);

        PrometheusText after = scrape();
        assertThat(delta(before, after, "procq_worker_claimed_jobs_total", Map.of("type", "exit"))).isEqualTo(4);
        assertThat(delta(before, after, "procq_worker_attempts_total", Map.of("type", "exit", "outcome", "OK"))).isEqualTo(3);
        assertThat(delta(before, after, "procq_worker_attempts_total", Map.of("type", "exit", "outcome", "FAILED"))).isEqualTo(1);
        assertThat(delta(before, after, "procq_worker_attempts_total", Map.of("type", "ghost", "outcome", "SPAWN_FAILED"))).isEqualTo(1);
        assertThat(histogramCount(after, "procq_worker_run_time_seconds", "exit")).isGreaterThanOrEqualTo(4);
        assertThat(histogramCount(after, "procq_worker_queue_wait_seconds", "exit")).isGreaterThanOrEqualTo(4);
        assertThat(after.samples("procq_worker_run_time_seconds_bucket", Map.of("type", "exit"))).hasSizeGreaterThan(10);
        // Two batches of one type: at least a round trip that claimed and one that wrote what ended.
        assertThat(value(after, "procq_worker_round_trip_seconds_count", Map.of())
                - value(before, "procq_worker_round_trip_seconds_count", Map.of())).isGreaterThanOrEqualTo(2);
        assertThat(value(after, "procq_worker_running_children", Map.of())).isZero();
    }

    @Test
    void jobsByTypeAndStateFollowTheBatchCounters() {
        long id = procq.submit("exit", List.of("0", "7"));
        awaitDone(id);
        Map<String, Long> fromApi = countsOfType("exit");

        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            PrometheusText scrape = scrape();
            for (String state : List.of("PENDING", "RUNNING", "OK", "FAILED", "CANCELLED")) {
                assertThat(value(scrape, "procq_jobs", Map.of("type", "exit", "state", state)))
                        .as(state).isEqualTo((double) fromApi.get(state));
            }
        });
    }

    @Test
    void pausedAndHaltedBatchesAreCountedPerType() {
        long halting = submitted(procq.postJson("/api/v1/batches",
                "{\"type\": \"held\", \"halt\": {\"failed\": 1}, \"targets\": [\"0.2\", \"0.2\", \"0.2\", \"0.2\"]}"));
        long paused = submitted(procq.postJson("/api/v1/batches",
                "{\"type\": \"held\", \"targets\": [\"0.2\", \"0.2\", \"0.2\", \"0.2\"]}"));
        assertThat(procq.send("POST", "/api/v1/batches/" + paused + "/pause", "").status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(15)).until(() -> procq.batch(halting).get("state").asText().equals("HALTED"));

        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            PrometheusText scrape = scrape();
            assertThat(value(scrape, "procq_batches_held", Map.of("type", "held", "state", "PAUSED"))).isEqualTo(1);
            assertThat(value(scrape, "procq_batches_held", Map.of("type", "held", "state", "HALTED"))).isEqualTo(1);
        });
        // Present at zero for a type with no held batch, like procq_jobs.
        assertThat(value(scrape(), "procq_batches_held", Map.of("type", "ghost", "state", "HALTED"))).isZero();

        procq.send("POST", "/api/v1/batches/" + halting + "/cancel", "");
        procq.send("POST", "/api/v1/batches/" + paused + "/cancel", "");
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
            PrometheusText scrape = scrape();
            assertThat(value(scrape, "procq_batches_held", Map.of("type", "held", "state", "PAUSED"))).isZero();
            assertThat(value(scrape, "procq_batches_held", Map.of("type", "held", "state", "HALTED"))).isZero();
        });
    }

    static long submitted(Procq.Response response) {
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        return response.json().get("id").asLong();
    }

    @Test
    void aTypeOnlyTheDatabaseKnowsShowsUpToo() {
        procq.database().jdbi().useHandle(handle -> {
            long batch = handle.createQuery("INSERT INTO procq.batch (type, total) VALUES ('legacy', 2) RETURNING id")
                    .mapTo(Long.class).one();
            handle.execute("INSERT INTO procq.job (batch_id, type, target) VALUES (?, 'legacy', 'a'), (?, 'legacy', 'b')",
                    batch, batch);
        });

        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(500)).untilAsserted(() ->
                assertThat(scrape().value("procq_jobs", Map.of("type", "legacy", "state", "PENDING"))).isEqualTo(2.0));
    }

    @Test
    void aLeaseExpiryIsCountedAndTheJobRunsAgain() {
        double before = value(scrape(), "procq_worker_lease_expiries_total", Map.of());
        long job = procq.database().jdbi().withHandle(handle -> {
            long deadWorker = handle.createQuery("""
                    INSERT INTO procq.worker (host, pid, concurrency, types, heartbeat_at)
                    VALUES ('gone', 1, 1, '{exit}', now() - interval '10 minutes') RETURNING id""").mapTo(Long.class).one();
            long batch = handle.createQuery("INSERT INTO procq.batch (type, total) VALUES ('exit', 1) RETURNING id")
                    .mapTo(Long.class).one();
            return handle.createQuery("""
                    INSERT INTO procq.job (batch_id, type, target, state, attempts, max_attempts, worker_id,
                                           lease_expires_at, started_at)
                    VALUES (:batch, 'exit', '0', 'RUNNING', 1, 1, :worker, now() - interval '1 minute', now() - interval '2 minutes')
                    RETURNING id""").bind("batch", batch).bind("worker", deadWorker).mapTo(Long.class).one();
        });

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(value(scrape(), "procq_worker_lease_expiries_total", Map.of())).isEqualTo(before + 1));
        await().atMost(Duration.ofSeconds(15)).until(() -> "OK".equals(procq.get("/api/v1/jobs/" + job).json().get("state").asText()));
        assertThat(procq.get("/api/v1/jobs/" + job).json().get("attempts").get(0).get("outcome").asText()).isEqualTo("LEASE_EXPIRED");
    }

    @Test
    void connectionPoolAndJvmMetricsAreServed() {
        PrometheusText scrape = scrape();

        assertThat(value(scrape, "hikaricp_connections_max", Map.of("pool", "test"))).isEqualTo(10);
        assertThat(scrape.samples("hikaricp_connections_active", Map.of("pool", "test"))).hasSize(1);
        assertThat(scrape.samples("hikaricp_connections_acquire_seconds_count", Map.of("pool", "test"))).hasSize(1);
        assertThat(scrape.samples("jvm_memory_used_bytes", Map.of())).isNotEmpty();
        assertThat(value(scrape, "procq_worker_type_concurrency", Map.of("type", "exit"))).isEqualTo(4);
        assertThat(value(scrape, "procq_worker_type_paused", Map.of("type", "exit"))).isZero();
    }

    @Test
    void theWorkersOwnEndpointServesTheSameFormat() throws Exception {
        Metrics metrics = new Metrics("worker");
        metrics.registry().counter("procq_test_events", "kind", "quote\"back\\slash").increment(3);
        try (MetricsServer server = new MetricsServer(metrics, "127.0.0.1", 0)) {
            HttpResponse<String> response = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).isEqualTo(200);
            assertThat(response.headers().firstValue("Content-Type")).contains(Metrics.CONTENT_TYPE);
            PrometheusText scrape = PrometheusText.parse(response.body());
            assertThat(scrape.value("procq_test_events_total", Map.of("kind", "quote\"back\\slash"))).isEqualTo(3.0);
            assertThat(scrape.samples("jvm_threads_live_threads", Map.of("component", "worker"))).hasSize(1);
        }
    }

    @Test
    void theParserRefusesWhatIsNotPrometheusText() {
        for (String bad : List.of(
                "procq_x 1\n",
                "# TYPE procq_x gauge\nprocq_x{a=\"1\"} one\n",
                "# TYPE procq_x gauge\nprocq_x{a=1} 1\n",
                "# TYPE procq_x gauge\nprocq_x 1\nprocq_x 2\n",
                "# TYPE procq_x gauge\n# TYPE procq_y gauge\nprocq_x{a=\"1\"} 1\nprocq_y 1\nprocq_x{a=\"2\"} 1\n",
                "# TYPE procq_h histogram\nprocq_h_bucket{le=\"1\"} 2\nprocq_h_bucket{le=\"+Inf\"} 1\nprocq_h_count 1\n",
                "# TYPE procq_x gauge\nprocq_x 1")) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> PrometheusText.parse(bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    static double delta(PrometheusText before, PrometheusText after, String name, Map<String, String> labels) {
        return value(after, name, labels) - value(before, name, labels);
    }

    static Map<String, Long> countsOfType(String type) {
        return procq.database().jdbi().withHandle(handle -> handle.createQuery("""
                SELECT coalesce(sum(pending), 0) AS "PENDING", coalesce(sum(running), 0) AS "RUNNING",
                       coalesce(sum(ok), 0) AS "OK", coalesce(sum(failed), 0) AS "FAILED",
                       coalesce(sum(cancelled), 0) AS "CANCELLED"
                  FROM procq.batch WHERE type = :type""").bind("type", type).mapToMap().one())
                .entrySet().stream().collect(java.util.stream.Collectors.toMap(
                        e -> e.getKey().toUpperCase(), e -> ((Number) e.getValue()).longValue()));
    }

    static void awaitDone(long id) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> procq.batch(id).get("state").asText().equals("DONE"));
    }
}
