package dev.procq.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Catch-up after every scheduler was stopped: two one-second schedules, skip-missed and run-once,
 * with a misfire grace of 2 s; the only scheduling process (a worker JVM) is stopped for 8 s and
 * started again.
 */
class ScheduleCatchUpTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final Duration GRACE = Duration.ofSeconds(2);
    static final String TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
            """;

    @TempDir
    static Path dir;
    static Procq procq;
    static WorkerFleet fleet;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, TYPES, Map.of()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        if (fleet != null) fleet.stopAll();
        procq.close();
    }

    static List<OffsetDateTime[]> batches(String schedule) {
        return procq.database().jdbi().withHandle(h -> h.createQuery("""
                        SELECT b.schedule_tick_at, b.created_at FROM procq.batch b JOIN procq.schedule s ON s.id = b.schedule_id
                         WHERE s.name = :n ORDER BY b.schedule_tick_at""")
                .bind("n", schedule).map((rs, ctx) -> new OffsetDateTime[] {
                        rs.getObject(1, OffsetDateTime.class), rs.getObject(2, OffsetDateTime.class)}).list());
    }

    @Test
    void missedTicksAreSkippedOrRunOnceAfterADowntime() throws Exception {
        Path types = Files.writeString(dir.resolve("jobtypes.yaml"), TYPES);
        fleet = new WorkerFleet(postgres, types);
        Map<String, String> grace = Map.of("PROCQ_SCHEDULE_MISFIRE_GRACE", GRACE.toSeconds() + "s");
        WorkerProcess first = fleet.start("catch-up-before", 4, "10s", grace);
        first.awaitRegistered(procq.database().jdbi());
        for (String catchUp : List.of("skip-missed", "run-once")) {
            assertThat(procq.postJson("/api/v1/schedules", "{\"name\": \"" + catchUp + "\", \"cron\": \"* * * * * *\", "
                    + "\"overlap\": \"allow\", \"catchUp\": \"" + catchUp + "\", \"batch\": {\"type\": \"echo\", \"targets\": [\"x\"]}}")
                    .status()).isEqualTo(201);
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> batches("skip-missed").size() >= 2 && batches("run-once").size() >= 2);

        first.close();
        OffsetDateTime stopped = OffsetDateTime.now();
        int before = batches("run-once").size();
        // The downtime itself: nothing to wait for but the clock.
        Thread.sleep(8_000);
        assertThat(batches("run-once")).as("nothing ran meanwhile").hasSize(before);

        WorkerProcess second = fleet.start("catch-up-after", 4, "10s", grace);
        long worker = second.awaitRegistered(procq.database().jdbi());
        await().atMost(Duration.ofSeconds(30)).until(() -> batches("skip-missed").stream().anyMatch(b -> b[0].isAfter(stopped.plusSeconds(9)))
                && batches("run-once").stream().anyMatch(b -> b[0].isAfter(stopped.plusSeconds(9))));

        // skip-missed: a gap of at least the downtime less the grace, and no batch made late
        List<OffsetDateTime[]> skipped = after(batches("skip-missed"), stopped);
        assertThat(Duration.between(lastBefore(batches("skip-missed"), stopped), skipped.get(0)[0]))
                .isGreaterThanOrEqualTo(Duration.ofSeconds(6));
        assertThat(skipped).allSatisfy(b -> assertThat(Duration.between(b[0], b[1])).isLessThan(GRACE.plusSeconds(1)));

        // run-once: one batch made late, for the last missed tick, then on time again
        List<OffsetDateTime[]> caughtUp = after(batches("run-once"), stopped);
        assertThat(Duration.between(caughtUp.get(0)[0], caughtUp.get(0)[1])).as("the catch-up batch")
                .isGreaterThanOrEqualTo(GRACE);
        assertThat(caughtUp.subList(1, caughtUp.size())).allSatisfy(b ->
                assertThat(Duration.between(b[0], b[1])).isLessThan(GRACE.plusSeconds(1)));
        assertThat(Duration.between(lastBefore(batches("run-once"), stopped), caughtUp.get(0)[0]))
                .as("the ticks it stands for").isGreaterThanOrEqualTo(Duration.ofSeconds(4));

        int port = procq.database().jdbi().withHandle(h -> h.createQuery("SELECT metrics_port FROM procq.worker WHERE id = :id")
                .bind("id", worker).mapTo(Integer.class).one());
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString()).body();
        PrometheusText metrics = PrometheusText.parse(text);
        assertThat(metrics.value("procq_schedule_ticks_total", Map.of("outcome", "skipped-missed"))).isGreaterThanOrEqualTo(4);
        assertThat(metrics.value("procq_schedule_ticks_total", Map.of("outcome", "merged-missed"))).isGreaterThanOrEqualTo(3);
    }

    private static List<OffsetDateTime[]> after(List<OffsetDateTime[]> batches, OffsetDateTime stopped) {
        return batches.stream().filter(b -> b[1].isAfter(stopped)).toList();
    }

    private static OffsetDateTime lastBefore(List<OffsetDateTime[]> batches, OffsetDateTime stopped) {
        return batches.stream().filter(b -> !b[1].isAfter(stopped)).map(b -> b[0]).reduce((a, b) -> b).orElseThrow();
    }
}
