package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerFleet;
import dev.procq.testing.WorkerProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Worker JVMs that die (SIGKILL) or freeze (SIGSTOP) in the middle of a batch: their leases run
 * out, another worker runs their jobs again, and what they left running is ended.
 */
class CrashRecoveryTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    @TempDir
    static Path dir;

    static Path jobTypes;
    static Path done;
    static Procq procq;
    static Jdbi jdbi;

    static WorkerFleet workers;

    @BeforeAll
    static void start() throws Exception {
        done = dir.resolve("done.txt");
        // "slow-*" targets sleep for $NAP_SECONDS in a grandchild, which outlives its worker's death
        // unless procq ends it; the others take a moment. Each run appends its target to a file.
        String types = """
                types:
                  nap:
                    command: ["sh", "-c", "case \\"$1\\" in slow-*) sleep \\"$NAP_SECONDS\\" & wait;; *) sleep 0.2;; esac; echo \\"$1\\" >> \\"$2\\"", "nap", "{target}", "%s"]
                    concurrency: 6
                    passEnv: [PATH, NAP_SECONDS]
                  hold:
                    command: ["sh", "-c", "echo \\"$PROCQ_ATTEMPT\\" >> \\"$2\\"; sleep \\"$1\\" & wait", "hold", "{target}", "%s"]
                    concurrency: 2
                  idle:
                    command: ["echo", "{target}"]
                """.formatted(done, dir.resolve("hold.txt"));
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
    void stopWorkers() {
        workers.stopAll();
    }

    WorkerProcess worker(String name, int concurrency, String lease, Map<String, String> extra) {
        return workers.start(name, concurrency, lease, extra);
    }

    @Test
    void aKilledWorkersJobsRunAgainElsewhereAfterTheLeaseAndItsChildrenAreEnded() throws Exception {
        String orphanSeconds = LiveProcesses.uniqueSleepSeconds();
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < 4; i++) targets.add("slow-" + i);
        for (int i = 0; i < 40; i++) targets.add("fast-" + i);
        long batch = procq.submit("nap", targets);

        WorkerProcess doomed = worker("doomed", 6, "3s", Map.of("NAP_SECONDS", orphanSeconds));
        long doomedId = doomed.awaitRegistered(jdbi);
        // Halfway: the four slow targets hold four slots, the other two have finished about half the rest.
        await().atMost(Duration.ofSeconds(60)).until(() -> count(batch, "OK") >= 20);
        // Another worker is already running when the first one dies: the usual case in production.
        WorkerProcess survivor = worker("survivor", 6, "3s", Map.of("NAP_SECONDS", "0.3"));
        survivor.awaitRegistered(jdbi);
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.running("sleep", orphanSeconds).size() == 4);
        List<Long> directChildren = ProcessHandle.of(doomed.pid()).orElseThrow().children()
                .map(ProcessHandle::pid).toList();
        List<Long> grandchildren = LiveProcesses.running("sleep", orphanSeconds);

        doomed.kill();
        long killedAt = System.nanoTime();
        // The dead worker can change nothing any more: what it holds now is what it was running.
        Set<Long> interrupted = Set.copyOf(jdbi.withHandle(h -> h.createQuery(
                "SELECT id FROM procq.job WHERE batch_id = :b AND state = 'RUNNING' AND worker_id = :w")
                .bind("b", batch).bind("w", doomedId).mapTo(Long.class).list()));
        assertThat(interrupted).hasSizeGreaterThanOrEqualTo(4);

        // Its direct children die with it (pdeathsig)...
        await().atMost(Duration.ofSeconds(5)).until(() -> directChildren.stream().noneMatch(LiveProcesses::isLive));
        // ...but grandchildren outlive it until a worker on this host sweeps them.
        await().atMost(Duration.ofSeconds(20)).until(() -> jdbi.withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.job WHERE id IN (<ids>) AND (state <> 'RUNNING' OR worker_id <> :w)")
                .bindList("ids", List.copyOf(interrupted)).bind("w", doomedId).mapTo(Long.class).one()) == interrupted.size());
        double rescuedAfter = (System.nanoTime() - killedAt) / 1e9;
        await().atMost(Duration.ofSeconds(10)).until(() -> grandchildren.stream().noneMatch(LiveProcesses::isLive));
        double orphansGoneAfter = (System.nanoTime() - killedAt) / 1e9;

        await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        double doneAfter = (System.nanoTime() - killedAt) / 1e9;
        System.out.printf("recovery: SIGKILLed worker (lease 3s): %d jobs rescued after %.1fs, orphans gone after %.1fs,"
                + " batch done after %.1fs%n", interrupted.size(), rescuedAfter, orphansGoneAfter, doneAfter);

        assertThat(count(batch, "OK")).isEqualTo(targets.size());
        assertThat(count(batch, "RUNNING")).isZero();
        List<Map<String, Object>> lost = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.job_id, a.attempt, a.worker_id, j.attempts, j.state FROM procq.job_attempt a
                  JOIN procq.job j ON j.id = a.job_id
                 WHERE j.batch_id = :b AND a.outcome = 'LEASE_EXPIRED'""").bind("b", batch).mapToMap().list());
        assertThat(lost).extracting(row -> (Long) row.get("job_id")).containsExactlyInAnyOrderElementsOf(interrupted);
        for (Map<String, Object> row : lost) {
            assertThat(row.get("attempt")).isEqualTo(1);
            assertThat(row.get("worker_id")).isEqualTo(doomedId);
            assertThat(row.get("attempts")).isEqualTo(2);
        }
        // A lost lease does not count against maxAttempts (1 here): the second run was allowed.
        Map<String, Long> runs = Files.readAllLines(done).stream()
                .collect(Collectors.groupingBy(line -> line, Collectors.counting()));
        assertThat(runs.keySet()).containsExactlyInAnyOrderElementsOf(targets);
        assertThat(LiveProcesses.running("sleep", orphanSeconds)).isEmpty();
    }

    @Test
    void aFrozenWorkerThatLostItsLeaseStopsTheChildOnWaking() throws Exception {
        String seconds = LiveProcesses.uniqueSleepSeconds();
        long batch = procq.submit("hold", List.of(seconds));
        // A lease long enough that renewals on a loaded machine keep it until the freeze.
        WorkerProcess frozen = worker("frozen", 2, "4s", Map.of("PROCQ_SHUTDOWN_GRACE", "1s"));
        frozen.awaitRegistered(jdbi);
        await().atMost(Duration.ofSeconds(20)).until(() -> LiveProcesses.running("sleep", seconds).size() == 1);
        long job = jdbi.withHandle(h -> h.createQuery("SELECT id FROM procq.job WHERE batch_id = :b")
                .bind("b", batch).mapTo(Long.class).one());

        // A worker that runs other types still rescues: rescue is every worker's duty.
        WorkerProcess rescuer = worker("rescuer", 2, "4s", Map.of("PROCQ_JOB_TYPES", onlyIdleTypes().toString()));
        rescuer.awaitRegistered(jdbi);
        frozen.signal("STOP");
        await().atMost(Duration.ofSeconds(15)).until(() -> state(job).equals("PENDING"));
        frozen.signal("CONT");
        long wokeAt = System.nanoTime();

        // The first attempt's child was ended at its deadline while the worker was frozen. Waking, the
        // worker claims the job again as a new attempt (a claim whose reply the freeze delayed past
        // its deadline is handed back unstarted first), and one child runs the job at a time.
        await().atMost(Duration.ofSeconds(15)).until(() -> attemptsOf(job) >= 2 && state(job).equals("RUNNING"));
        await().atMost(Duration.ofSeconds(15)).until(() -> LiveProcesses.running("sleep", seconds).size() == 1);
        System.out.printf("recovery: frozen worker running the job again %.1fs after waking%n",
                (System.nanoTime() - wokeAt) / 1e9);
        await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                .until(() -> LiveProcesses.running("sleep", seconds).size() == 1);
        List<String> outcomes = jdbi.withHandle(h -> h.createQuery(
                "SELECT outcome FROM procq.job_attempt WHERE job_id = :j ORDER BY attempt")
                .bind("j", job).mapTo(String.class).list());
        // Rescued after the freeze (LEASE_EXPIRED), or, on a machine so loaded that renewals ran
        // past the deadline even before it, ended and handed back by the worker itself (LOST).
        assertThat(outcomes).first().isIn("LEASE_EXPIRED", "LOST");
        assertThat(outcomes.subList(1, outcomes.size())).as("attempts handed back unstarted")
                .allSatisfy(outcome -> assertThat(outcome).isEqualTo("LOST"));

        frozen.signal("TERM");
        rescuer.signal("TERM");
        assertThat(frozen.awaitExit(Duration.ofSeconds(20))).isZero();
        assertThat(rescuer.awaitExit(Duration.ofSeconds(20))).isZero();
        assertThat(LiveProcesses.running("sleep", seconds)).isEmpty();
        assertThat(state(job)).isEqualTo("PENDING");
    }

    static Path onlyIdleTypes() throws Exception {
        Path file = dir.resolve("idle-only.yaml");
        Files.writeString(file, "types:\n  idle:\n    command: [\"echo\", \"{target}\"]\n");
        return file;
    }

    static long count(long batch, String state) {
        return procq.batch(batch).get("counts").get(state).asLong();
    }

    static String state(long job) {
        return jdbi.withHandle(h -> h.createQuery("SELECT state FROM procq.job WHERE id = :j")
                .bind("j", job).mapTo(String.class).one());
    }

    static int attemptsOf(long job) {
        return jdbi.withHandle(h -> h.createQuery("SELECT attempts FROM procq.job WHERE id = :j")
                .bind("j", job).mapTo(Integer.class).one());
    }
}
