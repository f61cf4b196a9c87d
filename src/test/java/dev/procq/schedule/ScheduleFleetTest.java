package dev.procq.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerFleet;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * One-second schedules over three worker JVMs and two API JVMs, every one of them running the
 * scheduler loop: one batch per tick, and the overlap policies with targets that take three seconds.
 * Schedules are defined through an API in the test JVM, which runs no scheduler of its own.
 */
class ScheduleFleetTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
                concurrency: 8
              slow:
                command: ["sleep", "{target}"]
                concurrency: 8
            """;

    @TempDir
    static Path dir;
    static WorkerFleet fleet;
    static final List<WorkerProcess> apis = new ArrayList<>();
    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        Path types = Files.writeString(dir.resolve("jobtypes.yaml"), TYPES);
        procq = new Procq(postgres, TYPES, Map.of()).startApi();
        fleet = new WorkerFleet(postgres, types);
        for (int i = 0; i < 3; i++) fleet.start("scheduling-worker-" + i, 16, "10s", Map.of());
        for (int i = 0; i < 2; i++) {
            Map<String, String> env = new HashMap<>(postgres.environment());
            env.put("PROCQ_JOB_TYPES", types.toString());
            apis.add(WorkerProcess.startCommand("api", "scheduling-api-" + i, env));
        }
        // every scheduler is polling once the workers have registered and the APIs answer
        await().atMost(Duration.ofSeconds(60)).until(() ->
                count("SELECT count(*) FROM procq.worker WHERE stopped_at IS NULL") == 3
                        && apis.stream().allMatch(api -> api.log().contains("procq API listening")));
    }

    @AfterAll
    static void stop() throws Exception {
        apis.forEach(WorkerProcess::close);
        if (fleet != null) fleet.stopAll();
        procq.close();
    }

    @AfterEach
    void deleteSchedules() {
        procq.database().jdbi().useHandle(h -> h.execute("DELETE FROM procq.schedule"));
        procq.database().jdbi().useHandle(h -> h.execute(
                "UPDATE procq.job SET state = 'CANCELLED', finished_at = now(), lease_expires_at = NULL"
                        + " WHERE state IN ('PENDING', 'RUNNING')"));
    }

    static long count(String sql) {
        return procq.database().jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    static long create(String name, String overlap, String type, String target) {
        Procq.Response created = procq.postJson("/api/v1/schedules", "{\"name\": \"" + name + "\", \"cron\": \"* * * * * *\", "
                + "\"overlap\": \"" + overlap + "\", \"batch\": {\"type\": \"" + type + "\", \"targets\": [\"" + target + "\"]}}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        return created.json().get("id").asLong();
    }

    record Batch(long id, OffsetDateTime tickAt, String state, OffsetDateTime createdAt, OffsetDateTime startedAt,
                 OffsetDateTime finishedAt) {
    }

    static List<Batch> batches(long schedule) {
        return procq.database().jdbi().withHandle(h -> h.createQuery("""
                        SELECT id, schedule_tick_at AS tick_at, state, created_at, started_at, finished_at
                          FROM procq.batch WHERE schedule_id = :s ORDER BY schedule_tick_at""")
                .bind("s", schedule).map((rs, ctx) -> new Batch(rs.getLong("id"),
                        rs.getObject("tick_at", OffsetDateTime.class), rs.getString("state"),
                        rs.getObject("created_at", OffsetDateTime.class), rs.getObject("started_at", OffsetDateTime.class),
                        rs.getObject("finished_at", OffsetDateTime.class))).list());
    }

    @Test
    void fiveSchedulersMakeExactlyOneBatchPerTick() {
        long id = create("every-second", "allow", "echo", "tick");
        await().atMost(Duration.ofSeconds(60)).until(() -> batches(id).size() >= 12);
        procq.send("PATCH", "/api/v1/schedules/" + id, "{\"paused\": true}");
        // what was in flight when the pause committed lands within a poll
        await().pollDelay(Duration.ofSeconds(1)).until(() -> true);

        List<Batch> batches = batches(id);
        List<OffsetDateTime> ticks = batches.stream().map(Batch::tickAt).toList();
        assertThat(ticks).as("no tick twice").doesNotHaveDuplicates();
        for (int i = 1; i < ticks.size(); i++) {
            assertThat(Duration.between(ticks.get(i - 1), ticks.get(i))).as("no tick left out, between " + ticks.get(i - 1)
                    + " and " + ticks.get(i)).isEqualTo(Duration.ofSeconds(1));
        }
        // more than one process took ticks: the processes' metrics sum to the batches
        assertThat(batches).allSatisfy(b -> assertThat(b.createdAt()).isAfterOrEqualTo(b.tickAt()));
    }

    @Test
    void skipSubmitsNothingWhileItsBatchRuns() {
        long id = create("skip", "skip", "slow", "3");
        await().atMost(Duration.ofSeconds(60)).until(() -> batches(id).stream().filter(b -> b.state().equals("DONE")).count() >= 2);
        List<Batch> batches = batches(id);
        for (int i = 1; i < batches.size(); i++) {
            Batch before = batches.get(i - 1);
            assertThat(before.finishedAt()).as("batch " + before.id() + " ended before the next was made").isNotNull();
            assertThat(batches.get(i).createdAt()).isAfterOrEqualTo(before.finishedAt());
            assertThat(Duration.between(before.tickAt(), batches.get(i).tickAt())).as("ticks skipped while it ran")
                    .isGreaterThanOrEqualTo(Duration.ofSeconds(3));
        }
    }

    @Test
    void queueOneKeepsOneTickWaitingAndSubmitsItWhenTheBatchEnds() {
        long id = create("queue", "queue-one", "slow", "3");
        List<Long> waiting = new ArrayList<>();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
            waiting.add(count("SELECT count(*) FROM procq.batch WHERE schedule_id = " + id + " AND state = 'PENDING'"));
            return batches(id).stream().filter(b -> b.state().equals("DONE")).count() >= 2;
        });
        List<Batch> batches = batches(id);
        assertThat(waiting).as("never more than one batch waiting").allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(1));
        for (int i = 1; i < batches.size(); i++) {
            Batch before = batches.get(i - 1);
            Batch queued = batches.get(i);
            assertThat(queued.createdAt()).as("queued until batch " + before.id() + " ended").isAfterOrEqualTo(before.finishedAt());
            // the waiting tick is the first that came once the batch was there, submitted late, with its own time
            assertThat(queued.tickAt()).isAfter(before.tickAt()).isBefore(before.createdAt().plusSeconds(2));
            assertThat(Duration.between(queued.tickAt(), queued.createdAt())).isGreaterThan(Duration.ofSeconds(1));
        }
    }

    @Test
    void cancelPreviousCancelsTheRunningBatch() {
        long id = create("cancel", "cancel-previous", "slow", "3");
        await().atMost(Duration.ofSeconds(60)).until(() -> batches(id).size() >= 5);
        procq.send("PATCH", "/api/v1/schedules/" + id, "{\"paused\": true}");
        await().pollDelay(Duration.ofSeconds(1)).until(() -> true);
        List<Batch> batches = batches(id);
        List<Batch> earlier = batches.subList(0, batches.size() - 1);
        assertThat(earlier).as("each replaced by the next").allSatisfy(b -> assertThat(b.state()).isEqualTo("CANCELLED"));
        assertThat(earlier.stream().filter(b -> b.startedAt() != null).count()).as("some were cancelled while running")
                .isPositive();
        assertThat(count("SELECT count(*) FROM procq.job j JOIN procq.batch b ON b.id = j.batch_id"
                + " WHERE b.schedule_id = " + id + " AND j.state = 'OK'")).as("no sleep of 3 s lived through a 1-s cron").isZero();
    }

    @Test
    void allowRunsBatchesSideBySide() {
        long id = create("allow", "allow", "slow", "3");
        await().atMost(Duration.ofSeconds(60)).until(() ->
                count("SELECT count(*) FROM procq.batch WHERE schedule_id = " + id + " AND state = 'RUNNING'") >= 2);
        List<Batch> batches = batches(id);
        assertThat(batches.size()).isGreaterThanOrEqualTo(2);
        Batch first = batches.get(0);
        Batch second = batches.get(1);
        assertThat(second.createdAt()).as("the second began before the first ended")
                .isBefore(first.finishedAt() == null ? OffsetDateTime.now() : first.finishedAt());
    }
}
