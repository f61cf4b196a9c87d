package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerFleet;
import dev.procq.testing.WorkerProcess;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Per-key limits, observed by the endpoints themselves: curl children of two worker JVMs fetch
 * URLs of several host names (all *.localhost, so all 127.0.0.1), and the server counts each
 * host's requests in flight and their start times.
 */
class PerKeyLimitsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final int KEY_CONCURRENCY = 2;
    static final double KEY_RATE = 10;

    static HttpServer server;
    static final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    static final Map<String, AtomicInteger> maxInFlight = new ConcurrentHashMap<>();
    static final Map<String, List<Long>> startsNanos = new ConcurrentHashMap<>();

    @TempDir
    Path dir;

    Procq procq;
    WorkerFleet fleet;

    @BeforeAll
    static void startEndpoints() throws Exception {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 1024);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/", exchange -> {
            String host = exchange.getRequestHeaders().getFirst("Host").replaceFirst(":\\d+$", "");
            long delayMs = Long.parseLong(exchange.getRequestURI().getPath().split("/")[1]);
            startsNanos.computeIfAbsent(host, h -> new CopyOnWriteArrayList<>()).add(System.nanoTime());
            int now = inFlight.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
            maxInFlight.computeIfAbsent(host, h -> new AtomicInteger()).accumulateAndGet(now, Math::max);
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                inFlight.get(host).decrementAndGet();
            }
            byte[] body = "ok\n".getBytes();
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    @AfterAll
    static void stopEndpoints() {
        server.stop(0);
    }

    static String types() {
        return """
                types:
                  polite:
                    command: ["curl", "-q", "-4", "-fsS", "-o", "/dev/null", "--max-time", "10", "{target}"]
                    concurrency: 20
                    timeout: 15s
                    targetPattern: '^http://'
                    key: {regex: '^https?://([^/:]+)'}
                    keyConcurrency: %d
                    keyRate: %s
                """.formatted(KEY_CONCURRENCY, KEY_RATE);
    }

    @BeforeEach
    void start() throws Exception {
        inFlight.clear();
        maxInFlight.clear();
        startsNanos.clear();
        Path jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, types());
        procq = new Procq(postgres, types(), Map.of()).startApi();
        fleet = new WorkerFleet(postgres, jobTypes);
        List<WorkerProcess> workers = new ArrayList<>();
        for (int i = 0; i < 2; i++) workers.add(fleet.start("polite-" + i, 20, "15s", Map.of()));
        for (WorkerProcess worker : workers) worker.awaitRegistered(postgres.database().jdbi());
    }

    @AfterEach
    void stop() throws Exception {
        fleet.stopAll();
        procq.close();
    }

    static String url(String host, long delayMs, int index) {
        return "http://" + host + ".localhost:" + server.getAddress().getPort() + "/" + delayMs + "/" + index;
    }

    /** The most starts of one host within any one second. */
    static int mostStartsInOneSecond(String host) {
        List<Long> starts = new ArrayList<>(startsNanos.getOrDefault(host, List.of()));
        Collections.sort(starts);
        int most = 0;
        int first = 0;
        for (int last = 0; last < starts.size(); last++) {
            while (starts.get(last) - starts.get(first) >= 1_000_000_000L) first++;
            most = Math.max(most, last - first + 1);
        }
        return most;
    }

    @Test
    void eachHostSeesAtMostItsConcurrencyAndRate() {
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 600; i++) targets.add(url("host" + (i % 10), 150, i));
        Collections.shuffle(targets, new Random(12));
        long started = System.nanoTime();
        long batch = procq.submit("polite", targets);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        double seconds = (System.nanoTime() - started) / 1e9;
        System.out.printf("per-key: 600 URLs over 10 hosts at %d per host and %.0f/s per host in %.1fs (ideal %.1fs)%n",
                KEY_CONCURRENCY, KEY_RATE, seconds, 60 / KEY_RATE);

        assertThat(procq.batch(batch).get("counts").get("OK").asInt()).isEqualTo(600);
        for (int host = 0; host < 10; host++) {
            String name = "host" + host + ".localhost";
            assertThat(startsNanos.get(name)).as(name).hasSize(60);
            assertThat(maxInFlight.get(name).get()).as("most requests at once to " + name).isEqualTo(KEY_CONCURRENCY);
            // Starts are spaced 1/keyRate apart when claimed; curl's own start-up moves a request by
            // a few milliseconds either way, so a window may catch one more. (Which of the two limits
            // binds depends on how fast curl starts here: on an idle machine the rate does.)
            assertThat(mostStartsInOneSecond(name)).as("most starts in one second at " + name)
                    .isBetween(1, (int) KEY_RATE + 1);
        }
        System.out.printf("per-key: most starts of one host in one second: %d%n",
                java.util.stream.IntStream.range(0, 10).map(host -> mostStartsInOneSecond("host" + host + ".localhost"))
                        .max().orElse(0));
        // Ten hosts side by side, each at its limits: 60 starts each at 10 per second at best.
        assertThat(seconds).isLessThan(60 / KEY_RATE * 4 + 5);
    }

    @Test
    void oneHotHostDoesNotHoldBackTheOthers() {
        List<String> targets = new ArrayList<>();
        // The hot host first: the head of the queue is all of it.
        for (int i = 0; i < 450; i++) targets.add(url("hot", 100, i));
        for (int i = 0; i < 50; i++) targets.add(url("cold" + (i % 5), 100, i));
        long started = System.nanoTime();
        long batch = procq.submit("polite", targets);

        // Each cold host has 10 URLs: about a second at 10 per second, whatever the hot one holds.
        await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100)).until(() -> {
            for (int host = 0; host < 5; host++) {
                if (startsNanos.getOrDefault("cold" + host + ".localhost", List.of()).size() < 10) return false;
            }
            return true;
        });
        double seconds = (System.nanoTime() - started) / 1e9;
        int hotStarts = startsNanos.getOrDefault("hot.localhost", List.of()).size();
        System.out.printf("per-key: 5 cold hosts' 50 URLs done in %.1fs beside a hot host with 450 (%d started)%n",
                seconds, hotStarts);
        assertThat(seconds).isLessThan(6);
        assertThat(maxInFlight.get("hot.localhost").get()).isLessThanOrEqualTo(KEY_CONCURRENCY);
        assertThat(mostStartsInOneSecond("hot.localhost")).isLessThanOrEqualTo((int) KEY_RATE + 1);
        assertThat(procq.batch(batch).get("counts").get("PENDING").asInt()).as("the hot host is still at its rate")
                .isPositive();

        // psql shows the keys with their use.
        long hotRunning = postgres.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.job_key_usage WHERE type = 'polite' AND key = 'hot.localhost'")
                .mapTo(Long.class).one());
        assertThat(hotRunning).isEqualTo(1);
        var type = procq.get("/api/v1/types").json().get(0);
        assertThat(type.get("keyConcurrency").asInt()).isEqualTo(KEY_CONCURRENCY);
        assertThat(type.get("keyRate").asDouble()).isEqualTo(KEY_RATE);
        List<String> keys = new ArrayList<>();
        type.get("keys").forEach(key -> keys.add(key.get("key").asText()));
        assertThat(keys).contains("hot.localhost", "cold0.localhost");
    }
}
