package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.WorkerProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A child that writes a gigabyte: it runs to the end, its tail is kept, and the worker's heap stays small. */
class OutputFloodTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final long GIGABYTE = 1L << 30;
    static final String TYPES = """
            types:
              flood:
                command: ["sh", "-c", "yes procq-flood-line | head -c %d; echo; echo \\"last line of $1\\"", "flood", "{target}"]
                concurrency: 1
                timeout: 5m
            """.formatted(GIGABYTE);
    static final Pattern METRICS_URL = Pattern.compile("worker metrics on (http://\\S+/metrics)");
    static final Pattern HEAP_USED = Pattern.compile("(?m)^jvm_memory_used_bytes\\{[^}]*area=\"heap\"[^}]*} (\\S+)$");

    @TempDir
    Path dir;

    @Test
    void aGigabyteOfOutputFinishesWithItsTailKeptInABoundedHeap() throws Exception {
        Path jobTypes = dir.resolve("jobtypes.yaml");
        Files.writeString(jobTypes, TYPES);
        Jdbi jdbi = postgres.database().jdbi();
        // 64 MB of heap for a gigabyte of output, and the JVM ends at once if that is not enough.
        try (Procq procq = new Procq(postgres, TYPES, Map.of()).startApi();
             WorkerProcess worker = WorkerProcess.start("flood", WorkerProcess.environment(postgres, jobTypes, 1, "5s"),
                     "-Xmx64m", "-XX:+ExitOnOutOfMemoryError")) {
            worker.awaitRegistered(jdbi);
            await().atMost(Duration.ofSeconds(10)).until(() -> METRICS_URL.matcher(worker.log()).find());
            Matcher url = METRICS_URL.matcher(worker.log());
            assertThat(url.find()).isTrue();
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest scrape = HttpRequest.newBuilder(URI.create(url.group(1))).timeout(Duration.ofSeconds(10)).build();

            long started = System.nanoTime();
            long batch = procq.submit("flood", List.of("the flood"));
            AtomicLong maxHeap = new AtomicLong();
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250))
                    .failFast("worker died: " + worker.logTail(), () -> !worker.isAlive())
                    .until(() -> {
                        Matcher heap = HEAP_USED.matcher(http.send(scrape, HttpResponse.BodyHandlers.ofString()).body());
                        long used = 0;
                        while (heap.find()) used += (long) Double.parseDouble(heap.group(1));
                        maxHeap.accumulateAndGet(used, Math::max);
                        return procq.batch(batch).get("state").asText().equals("DONE");
                    });
            System.out.printf("recovery: 1 GiB of output through the worker in %.1fs, heap used at most %d MB (-Xmx64m)%n",
                    (System.nanoTime() - started) / 1e9, maxHeap.get() >> 20);

            Map<String, Object> attempt = jdbi.withHandle(h -> h.createQuery("""
                    SELECT j.state, a.outcome, a.exit_code, a.output_tail FROM procq.job j
                      JOIN procq.job_attempt a ON a.job_id = j.id WHERE j.batch_id = :b""")
                    .bind("b", batch).mapToMap().one());
            assertThat(attempt.get("state")).isEqualTo("OK");
            assertThat(attempt.get("outcome")).isEqualTo("OK");
            assertThat(attempt.get("exit_code")).isEqualTo(0);
            String tail = (String) attempt.get("output_tail");
            assertThat(tail).contains("procq-flood-line\nprocq-flood-line\n").endsWith("\nlast line of the flood\n");
            assertThat(tail.length()).isLessThanOrEqualTo(Worker.OUTPUT_TAIL_BYTES);
            assertThat(maxHeap.get()).isLessThan(64L << 20);
            assertThat(worker.isAlive()).isTrue();
        }
    }
}
