package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.SilentProxy;
import dev.procq.testing.WorkerFleet;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target never has two live children, even when the worker running it is cut off from
 * PostgreSQL or frozen for longer than its lease and another worker runs the target again. Each
 * run takes an exclusive flock on its target's file for as long as any process of its tree lives,
 * and records an overlap when it finds the lock taken: the kernel, not timing, is the witness.
 */
class NeverTwiceAtOnceTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    @TempDir
    static Path dir;

    static final String LEASE = "3s";
    static final int TARGETS = 4;
    static Path jobTypes;
    static Procq procq;
    static Jdbi jdbi;

    static WorkerFleet workers;

    @BeforeAll
    static void start() throws Exception {
        // The lock is held by the sleep in the background too: a tree half-ended still counts. Each
        // run takes 15 s, far longer than the lease (3 s) plus a worker's start, so a first run that
        // was not ended would still be there when the second starts.
        String types = """
                types:
                  mark:
                    command: ["sh", "-c", "exec 9>>\\"$2/$1.lock\\"; if ! flock -n 9; then echo \\"$1 $PROCQ_ATTEMPT\\" >> \\"$2/overlaps\\"; exit 3; fi; echo \\"start $1 $PROCQ_ATTEMPT\\" >> \\"$2/log\\"; sleep \\"$3\\" & wait; echo \\"end $1 $PROCQ_ATTEMPT\\" >> \\"$2/log\\"", "mark", "{target}", "%s", "15"]
                    concurrency: 4
                    maxAttempts: 1
                  quick:
                    command: ["echo", "{target}"]
                    concurrency: 4
                """.formatted(dir);
        jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, types);
        procq = new Procq(postgres, types, Map.of()).startApi();
        jdbi = postgres.database().jdbi();
        workers = new WorkerFleet(postgres, jobTypes);
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @AfterEach
    void stopWorkers() throws Exception {
        workers.stopAll();
        Files.deleteIfExists(dir.resolve("log"));
        Files.deleteIfExists(dir.resolve("overlaps"));
    }

    WorkerProcess worker(String name, Map<String, String> extra) {
        return workers.start(name, TARGETS, LEASE, extra);
    }

    @Test
    void aWorkerCutOffFromTheDatabaseEndsItsChildrenBeforeAnotherWorkerCanStartThem() throws Exception {
        try (SilentProxy proxy = SilentProxy.inFrontOf(postgres.target().jdbcUrl())) {
            // Short database timeouts, so the cut-off worker also finds its way back soon after the path heals.
            WorkerProcess cutOff = worker("cut-off", Map.of("PROCQ_DATABASE_URL", proxy.rewrite(postgres.target().jdbcUrl()),
                    "PROCQ_DATABASE_STATEMENT_TIMEOUT", "3s", "PROCQ_DATABASE_CONNECT_TIMEOUT", "2s"));
            long cutOffId = cutOff.awaitRegistered(jdbi);
            long batch = procq.submit("mark", targets("cut"));
            await().atMost(Duration.ofSeconds(30)).until(() -> runningOn(batch, cutOffId) == TARGETS);
            WorkerProcess other = worker("other", Map.of());
            long otherId = other.awaitRegistered(jdbi);

            proxy.drop();
            long droppedAt = System.nanoTime();
            // The other worker rescues the jobs once their leases ran out and runs them again.
            await().atMost(Duration.ofSeconds(30)).until(() -> runningOn(batch, otherId) == TARGETS);
            double rerunAfter = seconds(droppedAt);
            await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));

            proxy.heal();
            long healedAt = System.nanoTime();
            // The cut-off worker comes back by itself: it renews its heartbeat and takes new work.
            long quick = procq.submit("quick", List.of("a", "b", "c", "d", "e", "f", "g", "h"));
            await().atMost(Duration.ofSeconds(60)).until(() -> heartbeatAge(cutOffId) < 2.0);
            double backAfter = seconds(healedAt);
            await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(quick).get("state").asText().equals("DONE"));
            System.out.printf("partition: %d targets rerun elsewhere %.1fs after the cut (lease %s), overlapping runs: %d;"
                    + " cut-off worker back %.1fs after the heal%n", TARGETS, rerunAfter, LEASE, overlaps().size(), backAfter);

            assertRanOnceToTheEnd(batch, "cut");
            assertThat(cutOff.isAlive()).isTrue();
            assertThat(cutOff.log()).contains("cannot renew leases");
        }
    }

    @Test
    void aFrozenWorkersChildrenAreEndedBeforeTheirLeaseRunsOut() throws Exception {
        WorkerProcess frozen = worker("frozen", Map.of());
        long frozenId = frozen.awaitRegistered(jdbi);
        long batch = procq.submit("mark", targets("frozen"));
        await().atMost(Duration.ofSeconds(30)).until(() -> runningOn(batch, frozenId) == TARGETS);
        WorkerProcess other = worker("other", Map.of());
        long otherId = other.awaitRegistered(jdbi);

        // A JVM that is stopped cannot stop anything: the spawn helper keeps the deadlines.
        frozen.signal("STOP");
        long frozenAt = System.nanoTime();
        try {
            await().atMost(Duration.ofSeconds(30)).until(() -> runningOn(batch, otherId) == TARGETS);
        } finally {
            frozen.signal("CONT");
        }
        double rerunAfter = seconds(frozenAt);
        await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        System.out.printf("freeze: %d targets rerun elsewhere %.1fs after SIGSTOP (lease %s), overlapping runs: %d%n",
                TARGETS, rerunAfter, LEASE, overlaps().size());

        assertRanOnceToTheEnd(batch, "frozen");
        // Woken, the worker carries on: nothing of the old attempts is left with it.
        long quick = procq.submit("quick", List.of("a", "b", "c", "d"));
        await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(quick).get("state").asText().equals("DONE"));
        assertThat(frozen.isAlive()).isTrue();
    }

    /** Every target ended OK, and exactly one run of each got to its end; no two runs ever overlapped. */
    static void assertRanOnceToTheEnd(long batch, String prefix) throws Exception {
        assertThat(overlaps()).as("runs that found their target's lock taken").isEmpty();
        assertThat(procq.batch(batch).get("counts").get("OK").asInt()).isEqualTo(TARGETS);
        Map<String, Long> ends = Files.readAllLines(dir.resolve("log")).stream()
                .filter(line -> line.startsWith("end "))
                .collect(Collectors.groupingBy(line -> line.split(" ")[1], Collectors.counting()));
        assertThat(ends).hasSize(TARGETS).allSatisfy((target, count) -> {
            assertThat(target).startsWith(prefix);
            assertThat(count).as("runs of %s that finished", target).isEqualTo(1);
        });
        // The first attempt of each is recorded as lost (its lease ran out): never as the target's failure.
        List<String> firstOutcomes = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.outcome FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                 WHERE j.batch_id = :b AND a.attempt = 1""").bind("b", batch).mapTo(String.class).list());
        assertThat(firstOutcomes).hasSize(TARGETS).allSatisfy(outcome -> assertThat(outcome).isIn("LEASE_EXPIRED", "LOST"));
    }

    static List<String> targets(String prefix) {
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < TARGETS; i++) targets.add(prefix + "-" + i);
        return targets;
    }

    static List<String> overlaps() throws Exception {
        Path file = dir.resolve("overlaps");
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }

    static long runningOn(long batch, long worker) {
        return jdbi.withHandle(h -> h.createQuery(
                        "SELECT count(*) FROM procq.job WHERE batch_id = :b AND state = 'RUNNING' AND worker_id = :w")
                .bind("b", batch).bind("w", worker).mapTo(Long.class).one());
    }

    static double heartbeatAge(long worker) {
        return jdbi.withHandle(h -> h.createQuery(
                        "SELECT extract(epoch FROM now() - heartbeat_at)::float8 FROM procq.worker WHERE id = :w")
                .bind("w", worker).mapTo(Double.class).one());
    }

    static double seconds(long sinceNanos) {
        return (System.nanoTime() - sinceNanos) / 1e9;
    }
}
