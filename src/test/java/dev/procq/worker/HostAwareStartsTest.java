package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.PrometheusText;
import dev.procq.testing.WorkerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Host-aware starts with a real worker and real children: a child that allocates and touches
 * memory pushes the host below a floor derived from the live MemAvailable (the machine never
 * comes near swapping: at most 2 GiB is taken, and a test runs only with four times that
 * available), and an impossible load or pressure ceiling holds every start until the worker runs
 * without it.
 *
 * <p>A worker's floors are fixed when it starts, and on a machine running a whole test suite
 * MemAvailable moves by hundreds of MiB while a test runs (the worker's own JVM, the test JVM's
 * heap, PostgreSQL). So the floors come from a reading that counts the worker's own JVM, and each
 * is 700 MiB or more from both that reading and the reading less the hog: the hog crosses it, and
 * the host comes back above it when the hog has gone.
 */
class HostAwareStartsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** Allocates and touches MB mebibytes, holds them for SECONDS, exits 0: target "MB:SECONDS". */
    static final String HOG_C = """
            #include <stdio.h>
            #include <stdlib.h>
            #include <unistd.h>
            int main(int argc, char **argv) {
                int mb = 0, seconds = 0;
                if (argc != 2 || sscanf(argv[1], "%d:%d", &mb, &seconds) != 2) return 64;
                size_t bytes = (size_t) mb << 20;
                char *memory = malloc(bytes);
                if (memory == NULL) return 70;
                for (size_t i = 0; i < bytes; i += 4096) memory[i] = 1;
                sleep(seconds);
                return memory[bytes / 2] == 1 ? 0 : 1;
            }
            """;
    static final long MIB = 1L << 20;
    static final int HOG_MIB = 2048;

    @TempDir
    static Path dir;
    static Path jobTypes;
    static Procq procq;
    static Jdbi jdbi;
    final List<WorkerProcess> workers = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        Path source = dir.resolve("hog.c");
        Path hog = dir.resolve("hog");
        Files.writeString(source, HOG_C);
        Process cc = new ProcessBuilder("cc", "-O2", "-o", hog.toString(), source.toString()).inheritIO().start();
        assertThat(cc.waitFor(60, TimeUnit.SECONDS) && cc.exitValue() == 0).as("cc hog.c").isTrue();
        String types = """
                types:
                  hog:
                    command: ["%1$s", "{target}"]
                    concurrency: 4
                  hogOnce:
                    command: ["sh", "-c", "if [ \\"$PROCQ_ATTEMPT\\" = 1 ]; then exec \\"$0\\" \\"$1\\"; fi", "%1$s", "{target}"]
                    concurrency: 4
                  light:
                    command: ["true", "{target}"]
                    concurrency: 4
                """.formatted(hog);
        jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, types);
        procq = new Procq(postgres, types, Map.of()).startApi();
        jdbi = postgres.database().jdbi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @AfterEach
    void stopWorkers() {
        workers.forEach(WorkerProcess::close);
        jdbi.useHandle(h -> h.execute("UPDATE procq.job SET state = 'CANCELLED', finished_at = now(), lease_expires_at = NULL"
                + " WHERE state IN ('PENDING', 'RUNNING')"));
    }

    @Test
    void belowTheMemoryFloorNothingStartsUntilTheHogExits() throws Exception {
        WorkerProcess worker = null;
        long floor = 0;
        long hogBatch = 0;
        // Other processes on a shared host may take the memory first, and then the hog itself waits:
        // the floor is derived again from the live MemAvailable, up to three times.
        for (int round = 0; round < 3 && worker == null; round++) {
            // The hog takes 2 GiB: 1 GiB below the floor, and 1 GiB of room for the rest of the machine.
            Floored started = workerWithFloors(1024, 0);
            long batch = procq.submit("hog", List.of(HOG_MIB + ":6"));
            try {
                await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(100))
                        .failFast("worker exited: " + started.worker().logTail(), () -> !started.worker().isAlive())
                        .until(() -> jobStates(batch).equals(List.of("RUNNING"))
                                && started.worker().log().contains("holding new starts"));
                worker = started.worker();
                floor = started.startFloor();
                hogBatch = batch;
            } catch (org.awaitility.core.ConditionTimeoutException e) {
                System.out.println("the host went below the floor before the hog started; again: " + started.worker().logTail());
                started.worker().close();
                stopWorkers();
            }
        }
        assertThat(worker).as("the hog started above the floor in one of three tries").isNotNull();
        assertThat(worker.log()).contains("available memory").contains("is below PROCQ_WORKER_MEMFREE");
        long hogJob = hogBatch;

        long lightBatch = procq.submit("light", List.of("a", "b", "c"));
        awaitOrShowLog(worker, Duration.ofSeconds(60), () -> procq.batch(lightBatch).get("state").asText().equals("DONE"));

        assertThat(procq.batch(hogJob).get("state").asText()).isEqualTo("DONE");
        OffsetDateTime hogEnded = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.finished_at FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :b""")
                .bind("b", hogJob).mapTo(OffsetDateTime.class).one());
        List<OffsetDateTime> lightStarts = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.started_at FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :b""")
                .bind("b", lightBatch).mapTo(OffsetDateTime.class).list());
        // Held while the hog ran: every light job was claimed only after it ended (and the host had recovered).
        assertThat(lightStarts).hasSize(3).allSatisfy(started -> assertThat(started).isAfter(hogEnded));
        PrometheusText metrics = PrometheusText.parse(scrape(worker));
        assertThat(metrics.value("procq_worker_starts_held_back_total", Map.of("reason", "memory"))).isPositive();
        assertThat(metrics.value("procq_worker_host_hold", Map.of("reason", "memory"))).isZero();
        assertThat(metrics.value("procq_worker_host_memory_available_bytes", Map.of())).isGreaterThan(floor);
        assertThat(metrics.value("procq_worker_children_stopped_for_memory_total", Map.of())).isZero();
    }

    @Test
    void belowTheKillFloorTheYoungestChildIsStoppedAndItsJobHandedBackUncounted() throws Exception {
        // The hog takes 2 GiB: 1.3 GiB past the start floor and 0.7 GiB past the kill floor. Without it the
        // host must come back above the start floor (the rest of the machine may take 700 MiB meanwhile),
        // or the job handed back would never start again.
        WorkerProcess worker = workerWithFloors(700, 1300).worker();

        // The older child holds a little memory and outlives the younger one's first attempt.
        long olderBatch = procq.submit("hog", List.of("1:6"));
        await().atMost(Duration.ofSeconds(30)).until(() -> jobStates(olderBatch).equals(List.of("RUNNING")));
        long youngerBatch = procq.submit("hogOnce", List.of(HOG_MIB + ":60"));
        awaitOrShowLog(worker, Duration.ofSeconds(60), () -> procq.batch(youngerBatch).get("state").asText().equals("DONE")
                && procq.batch(olderBatch).get("state").asText().equals("DONE"));

        Map<String, Object> younger = jdbi.withHandle(h -> h.createQuery(
                "SELECT state, attempts, max_attempts FROM procq.job WHERE batch_id = :b").bind("b", youngerBatch).mapToMap().one());
        assertThat(younger).containsEntry("state", "OK").containsEntry("attempts", 2);
        // Handed back uncounted: the stopped attempt raised the allowance by one.
        assertThat((Integer) younger.get("max_attempts")).isEqualTo(dev.procq.config.JobType.DEFAULT_MAX_ATTEMPTS + 1);
        List<String> attempts = jdbi.withHandle(h -> h.createQuery("""
                SELECT a.outcome || ': ' || coalesce(a.error, '') FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id
                 WHERE j.batch_id = :b ORDER BY a.attempt""").bind("b", youngerBatch).mapTo(String.class).list());
        assertThat(attempts).containsExactly(
                "STOPPED: host memory below PROCQ_WORKER_MEMFREE_KILL; stopped as the youngest child and handed back", "OK: ");
        assertThat(jobStates(olderBatch)).as("the older child ran on").containsExactly("OK");
        // The first child stopped is the younger one. (Another process on a shared host may take memory too
        // and keep it low a second later, when the older child would be next.)
        long youngerJob = jdbi.withHandle(h -> h.createQuery("SELECT id FROM procq.job WHERE batch_id = :b")
                .bind("b", youngerBatch).mapTo(Long.class).one());
        assertThat(worker.log()).contains("stopping the youngest child (job " + youngerJob + ", attempt 1)");
        assertThat(worker.log().indexOf("stopping the youngest child (job " + youngerJob + ","))
                .isEqualTo(worker.log().indexOf("stopping the youngest child (job"));
        PrometheusText metrics = PrometheusText.parse(scrape(worker));
        assertThat(metrics.value("procq_worker_children_stopped_for_memory_total", Map.of())).isGreaterThanOrEqualTo(1.0);
    }

    @Test
    void aLoadCeilingTheHostIsAboveHoldsEveryStartUntilTheWorkerRunsWithoutIt() throws Exception {
        // 0.01: any host running a JVM, PostgreSQL and these tests is above it.
        assumeTrue(load1() > 0.05, "the host is idle (load " + load1() + ")");
        holdsEveryStartUntilLifted(Map.of("PROCQ_WORKER_MAX_LOAD", "0.01"), "load");
    }

    @Test
    void aPressureCeilingTheHostIsAboveHoldsEveryStartUntilTheWorkerRunsWithoutIt() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/pressure/cpu")), "this kernel has no PSI");
        assumeTrue(cpuPressure() > 0.05, "no CPU pressure now (" + cpuPressure() + ")");
        holdsEveryStartUntilLifted(Map.of("PROCQ_WORKER_MAX_PRESSURE", "cpu:0.01"), "pressure");
    }

    private void holdsEveryStartUntilLifted(Map<String, String> ceiling, String reason) throws Exception {
        WorkerProcess held = worker(ceiling);
        long batch = procq.submit("light", List.of("a", "b", "c"));
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
            PrometheusText metrics = PrometheusText.parse(scrape(held));
            return metrics.value("procq_worker_starts_held_back_total", Map.of("reason", reason)) >= 3
                    && metrics.value("procq_worker_host_hold", Map.of("reason", reason)) == 1.0;
        });
        assertThat(jobStates(batch)).containsOnly("PENDING");
        assertThat(held.log()).contains("holding new starts");
        // The workers page says why this worker is idle with work waiting (sent with its heartbeat).
        long heldId = held.awaitRegistered(jdbi);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(200)).until(() -> {
            for (var row : procq.get("/api/v1/workers").json()) {
                if (row.get("id").asLong() == heldId) return reason.equals(row.get("hostHold").asText(null));
            }
            return false;
        });

        held.signal("TERM");
        assertThat(held.awaitExit(Duration.ofSeconds(20))).isZero();
        worker(Map.of());
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                .until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        assertThat(jobStates(batch)).containsOnly("OK");
        assertThat(procq.get("/api/v1/workers").json().findValues("hostHold")).allSatisfy(hold -> assertThat(hold.isNull()).isTrue());
    }

    /** A worker started with its floors this many MiB under MemAvailable, and the start floor in bytes. */
    record Floored(WorkerProcess worker, long startFloor) {
    }

    /**
     * Starts a worker with PROCQ_WORKER_MEMFREE (and PROCQ_WORKER_MEMFREE_KILL unless its offset is
     * 0) that many MiB under what the host has left once the worker runs: the worker's own JVM takes
     * a few hundred MiB as it starts, so the first start measures that, and the worker is started
     * again (up to three times) until the reading with it running is within 150 MiB of the one its
     * floors came from. The margins are then all for what moves while the test runs.
     */
    Floored workerWithFloors(long startMib, long killMib) throws Exception {
        long takenByWorker = 0;
        for (int round = 1; ; round++) {
            long available = memAvailable() - takenByWorker;
            assumeTrue(available > 4L * HOG_MIB * MIB, "needs a few GiB available, has " + available / MIB + " MiB");
            Map<String, String> floors = new HashMap<>(Map.of("PROCQ_WORKER_MEMFREE", Long.toString(available - startMib * MIB)));
            if (killMib > 0) floors.put("PROCQ_WORKER_MEMFREE_KILL", Long.toString(available - killMib * MIB));
            WorkerProcess worker = worker(floors);
            long drift = available - memAvailable();
            if (Math.abs(drift) <= 150 * MIB || round == 3) return new Floored(worker, available - startMib * MIB);
            System.out.println("the host has " + drift / MIB + " MiB less than expected with the worker running; again");
            takenByWorker += drift;
            worker.close();
            workers.remove(worker);
        }
    }

    /** Waits for a condition; a worker that exits or a timeout fails with the worker's log and what the host has left. */
    static void awaitOrShowLog(WorkerProcess worker, Duration atMost, java.util.concurrent.Callable<Boolean> condition)
            throws Exception {
        try {
            await().atMost(atMost).pollInterval(Duration.ofMillis(200))
                    .failFast("worker exited: " + worker.logTail(), () -> !worker.isAlive())
                    .until(condition);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("not within " + atMost + " (MemAvailable now " + memAvailable() / MIB + " MiB); worker log:\n"
                    + worker.logTail(), e);
        }
    }

    WorkerProcess worker(Map<String, String> extra) {
        Map<String, String> env = new HashMap<>(WorkerProcess.environment(postgres, jobTypes, 4, "5s"));
        env.putAll(extra);
        WorkerProcess worker = WorkerProcess.start("hostaware", env);
        workers.add(worker);
        worker.awaitRegistered(jdbi);
        return worker;
    }

    static List<String> jobStates(long batch) {
        return jdbi.withHandle(h -> h.createQuery("SELECT state FROM procq.job WHERE batch_id = :b ORDER BY id")
                .bind("b", batch).mapTo(String.class).list());
    }

    static String scrape(WorkerProcess worker) throws Exception {
        int port = jdbi.withHandle(h -> h.createQuery("SELECT metrics_port FROM procq.worker WHERE pid = :pid")
                .bind("pid", worker.pid()).mapTo(Integer.class).one());
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    static long memAvailable() throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemAvailable:")) return Long.parseLong(line.split("\\s+")[1]) * 1024;
        }
        throw new IllegalStateException("no MemAvailable");
    }

    static double load1() throws Exception {
        return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    }

    static double cpuPressure() throws Exception {
        String some = Files.readAllLines(Path.of("/proc/pressure/cpu")).get(0);
        return Double.parseDouble(some.split(" ")[1].substring("avg10=".length()));
    }
}
