package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.PrometheusText;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerFleet;
import dev.procq.testing.WorkerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * globalConcurrency, observed on the process table: three worker JVMs with four slots each never
 * run more children of the type than the cluster-wide limit, and an UPDATE of procq.job_type
 * moves that limit while they run.
 */
class GlobalConcurrencyTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              shared:
                command: ["sleep", "{target}"]
                concurrency: 4
                globalConcurrency: 5
            """;

    @TempDir
    Path dir;

    Procq procq;
    WorkerFleet fleet;
    List<WorkerProcess> workers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        Path jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, TYPES);
        procq = new Procq(postgres, TYPES, Map.of()).startApi();
        fleet = new WorkerFleet(postgres, jobTypes);
        for (int i = 0; i < 3; i++) {
            workers.add(fleet.start("shared-" + i, 12, "15s", Map.of()));
        }
        for (WorkerProcess worker : workers) worker.awaitRegistered(postgres.database().jdbi());
    }

    @AfterEach
    void stop() throws Exception {
        fleet.stopAll();
        postgres.database().jdbi().useHandle(h -> h.execute(
                "UPDATE procq.job_type SET global_concurrency = 5 WHERE name = 'shared'"));
        procq.close();
    }

    /** Samples the live children running {@code sleep argument} every few milliseconds. */
    static final class ChildSampler implements AutoCloseable {
        final AtomicInteger now = new AtomicInteger();
        final AtomicInteger max = new AtomicInteger();
        final AtomicInteger samples = new AtomicInteger();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        ChildSampler(String argument) {
            thread = new Thread(() -> {
                while (running.get()) {
                    int live = LiveProcesses.running("sleep", argument).size();
                    now.set(live);
                    max.accumulateAndGet(live, Math::max);
                    samples.incrementAndGet();
                    try {
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "child-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        /** Forgets the maximum so far, for the next phase. */
        void resetMax() {
            max.set(now.get());
        }

        @Override
        public void close() throws InterruptedException {
            running.set(false);
            thread.join();
        }
    }

    static String uniqueSleep(String seconds) {
        // The same length of sleep, spelled so that no other process on this host has the argument.
        return seconds + "000" + LiveProcesses.uniqueSleepSeconds().replace(".", "").substring(0, 6);
    }

    static void sql(String statement) {
        postgres.database().jdbi().useHandle(h -> h.execute(statement));
    }

    static long runningRows() {
        return postgres.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.job WHERE type = 'shared' AND state = 'RUNNING'").mapTo(Long.class).one());
    }

    static String scrape(WorkerProcess worker) throws Exception {
        int port = postgres.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT metrics_port FROM procq.worker WHERE pid = :pid").bind("pid", worker.pid())
                .mapTo(Integer.class).one());
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void threeWorkersNeverRunMoreChildrenThanTheClusterWideLimit() throws Exception {
        String argument = uniqueSleep("0.3");
        int targets = 90;
        try (ChildSampler children = new ChildSampler(argument)) {
            long started = System.nanoTime();
            long batch = procq.submit("shared", Collections.nCopies(targets, argument));
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
            double seconds = (System.nanoTime() - started) / 1e9;
            System.out.printf("globalConcurrency: %d x sleep 0.3 at 5 across 3 workers in %.1fs (ideal %.1fs), %d samples%n",
                    targets, seconds, targets * 0.3 / 5, children.samples.get());

            assertThat(children.max.get()).as("children at any sample").isEqualTo(5);
            assertThat(procq.batch(batch).get("counts").get("OK").asInt()).isEqualTo(targets);
            Jdbi jdbi = postgres.database().jdbi();
            long workersTookPart = jdbi.withHandle(h -> h.createQuery(
                    "SELECT count(DISTINCT worker_id) FROM procq.job WHERE batch_id = :b").bind("b", batch)
                    .mapTo(Long.class).one());
            assertThat(workersTookPart).as("the limit is shared, not taken by one worker").isGreaterThan(1);
            // The limit's slots are kept busy (7.0 s on an idle 2-core machine); the bound is loose
            // because a loaded machine starts sleep 0.3 children slowly too.
            assertThat(seconds).isLessThan(targets * 0.3 / 5 * 3 + 5);
        }
    }

    @Test
    void anUpdateOfTheLimitReachesRunningWorkersWithinSeconds() throws Exception {
        String argument = uniqueSleep("0.2");
        try (ChildSampler children = new ChildSampler(argument)) {
            long batch = procq.submit("shared", Collections.nCopies(400, argument));
            await().atMost(Duration.ofSeconds(20)).until(() -> children.now.get() == 5);
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> children.max.get() == 5);

            sql("UPDATE procq.job_type SET global_concurrency = 2 WHERE name = 'shared'");
            // Children already running finish (0.2 s); from then on at most 2.
            await().atMost(Duration.ofSeconds(3)).until(() -> runningRows() <= 2);
            children.resetMax();
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).until(() -> children.max.get() <= 2);
            assertThat(children.max.get()).isEqualTo(2);

            sql("UPDATE procq.job_type SET global_concurrency = NULL WHERE name = 'shared'");
            // No cluster-wide limit: each worker's own 4 slots, 12 in all.
            await().atMost(Duration.ofSeconds(5)).until(() -> children.max.get() > 5);
            assertThat(procq.batch(batch).get("state").asText()).isEqualTo("RUNNING");
        }
    }

    @Test
    void theTypesEndpointAndMetricsShowTheLimitAndItsUse() throws Exception {
        String argument = uniqueSleep("20");
        long batch = procq.submit("shared", Collections.nCopies(8, argument));
        await().atMost(Duration.ofSeconds(20)).until(() -> runningRows() == 5);

        var type = procq.get("/api/v1/types").json().get(0);
        assertThat(type.get("name").asText()).isEqualTo("shared");
        assertThat(type.get("globalConcurrency").asInt()).isEqualTo(5);
        assertThat(type.get("running").asInt()).isEqualTo(5);
        int perWorker = 0;
        for (var worker : type.get("runningByWorker")) perWorker += worker.asInt();
        assertThat(perWorker).isEqualTo(5);
        assertThat(type.get("file").get("globalConcurrency").asInt()).isEqualTo(5);

        Procq.Response raised = procq.send("PATCH", "/api/v1/types/shared", "{\"globalConcurrency\": 7}");
        assertThat(raised.status()).as(raised.body()).isEqualTo(200);
        assertThat(raised.json().get("globalConcurrency").asInt()).isEqualTo(7);
        await().atMost(Duration.ofSeconds(5)).until(() -> runningRows() == 7);

        // Every worker shows the limit; the ones left without a slot count what the limit held back.
        double heldBack = 0;
        for (WorkerProcess worker : workers) {
            PrometheusText metrics = PrometheusText.parse(scrape(worker));
            await().atMost(Duration.ofSeconds(5)).until(() -> Double.valueOf(7).equals(PrometheusText
                    .parse(scrape(worker)).value("procq_worker_type_global_concurrency", Map.of("type", "shared"))));
            heldBack += metrics.value("procq_worker_claims_held_back_total",
                    Map.of("type", "shared", "limit", "global_concurrency"));
        }
        assertThat(heldBack).as("waiting jobs held back from free slots").isPositive();
        assertThat(procq.batch(batch).get("counts").get("PENDING").asInt()).isEqualTo(1);
    }
}
