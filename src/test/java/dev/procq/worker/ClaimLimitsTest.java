package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The slot rules, observed by the children themselves: each child counts the marker files
 * of the children running beside it, so the figure does not depend on procq's own bookkeeping.
 */
class ClaimLimitsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    @TempDir
    Path dir;

    /** A child that records how many of its kind run at once, then stays a moment. */
    private String countingType(String name, int concurrency, Path live, Path log) {
        String script = "touch " + live + "/$$; ls " + live + " | wc -l >> " + log + "; sleep 0.15; rm " + live + "/$$";
        return """
                  %s:
                    command: ["sh", "-c", "%s", "%s", "{target}"]
                    concurrency: %d
                """.formatted(name, script, name, concurrency);
    }

    private static int maxObserved(Path log) throws Exception {
        return Files.readAllLines(log).stream().mapToInt(line -> Integer.parseInt(line.trim())).max().orElse(0);
    }

    @Test
    void claimsNeverExceedTheTypesConcurrency() throws Exception {
        Path live = Files.createDirectories(dir.resolve("live"));
        Path log = dir.resolve("counts");
        try (Procq procq = new Procq(postgres, "types:\n" + countingType("limited", 3, live, log),
                Map.of("PROCQ_WORKER_CONCURRENCY", "16", "PROCQ_WORKER_METRICS_PORT", "off")).startApi()) {
            procq.startWorker();
            long id = procq.submit("limited", targets(40));
            awaitDone(procq, id);
            assertThat(Files.readAllLines(log)).hasSize(40);
            assertThat(maxObserved(log)).isBetween(2, 3);
        }
    }

    @Test
    void claimsNeverExceedTheWorkersGlobalCapAcrossTypes() throws Exception {
        Path live = Files.createDirectories(dir.resolve("live"));
        Path log = dir.resolve("counts");
        String types = "types:\n" + countingType("first", 4, live, log) + countingType("second", 4, live, log);
        try (Procq procq = new Procq(postgres, types,
                Map.of("PROCQ_WORKER_CONCURRENCY", "2", "PROCQ_WORKER_METRICS_PORT", "off")).startApi()) {
            procq.startWorker();
            long a = procq.submit("first", targets(15));
            long b = procq.submit("second", targets(15));
            awaitDone(procq, a);
            awaitDone(procq, b);
            assertThat(Files.readAllLines(log)).hasSize(30);
            assertThat(maxObserved(log)).isEqualTo(2);
        }
    }

    @Test
    void twoWorkersNeverRunTheSameTarget() throws Exception {
        Path out = dir.resolve("ran");
        String types = """
                types:
                  append:
                    command: ["sh", "-c", "echo \\"$1\\" >> %s", "append", "{target}"]
                    concurrency: 6
                """.formatted(out);
        try (Procq procq = new Procq(postgres, types,
                Map.of("PROCQ_WORKER_CONCURRENCY", "6", "PROCQ_WORKER_METRICS_PORT", "off")).startApi()) {
            Worker first = procq.startWorker();
            Worker second = procq.startWorker();
            List<String> targets = IntStream.range(0, 600).mapToObj(i -> "t" + i).toList();
            long id = procq.submit("append", targets);
            awaitDone(procq, id);

            List<String> ran = Files.readAllLines(out);
            assertThat(ran).hasSize(600);
            assertThat(new HashSet<>(ran)).hasSize(600);
            List<Long> workers = procq.database().jdbi().withHandle(h -> h.createQuery(
                    "SELECT DISTINCT worker_id FROM procq.job WHERE batch_id = :id").bind("id", id).mapTo(Long.class).list());
            assertThat(workers).containsExactlyInAnyOrder(first.id(), second.id());
            long attempts = procq.database().jdbi().withHandle(h -> h.createQuery(
                    "SELECT count(*) FROM procq.job_attempt a JOIN procq.job j ON j.id = a.job_id WHERE j.batch_id = :id")
                    .bind("id", id).mapTo(Long.class).one());
            assertThat(attempts).isEqualTo(600);
        }
    }

    @Test
    void lowerPriorityNumbersAreClaimedFirst() throws Exception {
        Path out = dir.resolve("order");
        String types = """
                types:
                  record:
                    command: ["sh", "-c", "echo \\"$1\\" >> %s", "record", "{target}"]
                    concurrency: 1
                """.formatted(out);
        try (Procq procq = new Procq(postgres, types,
                Map.of("PROCQ_WORKER_CONCURRENCY", "1", "PROCQ_WORKER_METRICS_PORT", "off")).startApi()) {
            procq.postJson("/api/v1/batches", "{\"type\": \"record\", \"priority\": 5, \"targets\": [\"late-1\", \"late-2\"]}");
            procq.postJson("/api/v1/batches", "{\"type\": \"record\", \"priority\": -5, \"targets\": [\"urgent-1\", \"urgent-2\"]}");
            procq.postJson("/api/v1/batches", "{\"type\": \"record\", \"targets\": [\"normal\"]}");
            procq.startWorker();
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(out) && Files.readAllLines(out).size() == 5);
            assertThat(Files.readAllLines(out)).containsExactly("urgent-1", "urgent-2", "normal", "late-1", "late-2");
        }
    }

    private static List<String> targets(int count) {
        List<String> targets = new ArrayList<>();
        for (int i = 0; i < count; i++) targets.add("t" + i);
        return targets;
    }

    private static void awaitDone(Procq procq, long id) {
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> procq.batch(id).get("state").asText().equals("DONE"));
    }
}
