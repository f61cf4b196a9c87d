package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A type's limits reach its children through the real worker, and a child over its limit fails
 * its own row, with the reason in the job's error or in the attempt's output tail; the rest of
 * the batch is unaffected.
 */
class ChildLimitsTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              allocate:
                # allocates the target's number of MiB
                command: ["python3", "-c", "import sys; x = bytearray(int(sys.argv[1]) << 20); print('allocated', len(x))", "{target}"]
                env: {PATH: "/usr/local/bin:/usr/bin:/bin"}
                targetPattern: '^[0-9]{1,5}$'
                limits:
                  memory: 100MB
              spin:
                # busy for the target's number of CPU seconds at most
                command: ["python3", "-c", "import sys, time\\nend = time.process_time() + float(sys.argv[1])\\nwhile time.process_time() < end: pass\\nprint('done')", "{target}"]
                env: {PATH: "/usr/local/bin:/usr/bin:/bin"}
                targetPattern: '^[0-9.]{1,5}$'
                timeout: 30s
                limits:
                  cpuSeconds: 1
              showlimits:
                command: ["sh", "-c", "cat /proc/$$/limits", "showlimits", "{target}"]
                limits:
                  cpuSeconds: 7
                  memory: 1GiB
                  openFiles: 64
                  processes: 50
            """;

    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_CONCURRENCY", "4", "PROCQ_WORKER_METRICS_PORT", "off"))
                .startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void childOverItsMemoryLimitFailsItsRowWithTheReason() {
        List<JsonNode> jobs = run("allocate", List.of("500", "10"));
        JsonNode over = jobs.get(0);
        assertThat(over.get("state").asText()).isEqualTo("FAILED");
        assertThat(over.get("error").asText()).isEqualTo("exit code 1");
        JsonNode attempt = over.get("attempts").get(0);
        assertThat(attempt.get("outcome").asText()).isEqualTo("FAILED");
        assertThat(attempt.get("outputTail").asText()).contains("MemoryError");
        // The same program under the limit: the limit, not the program, failed the first.
        assertThat(jobs.get(1).get("state").asText()).isEqualTo("OK");
        assertThat(jobs.get(1).get("attempts").get(0).get("outputTail").asText()).contains("allocated " + (10 << 20));
    }

    @Test
    void childOverItsCpuLimitFailsItsRowWithTheReason() {
        List<JsonNode> jobs = run("spin", List.of("20", "0.1"));
        JsonNode over = jobs.get(0);
        assertThat(over.get("state").asText()).isEqualTo("FAILED");
        assertThat(over.get("error").asText()).isEqualTo("CPU time limit exceeded");
        assertThat(over.get("signal").asInt()).isEqualTo(24);
        JsonNode attempt = over.get("attempts").get(0);
        assertThat(attempt.get("error").asText()).isEqualTo("CPU time limit exceeded");
        assertThat(attempt.get("durationMs").asLong()).isLessThan(20_000);
        assertThat(jobs.get(1).get("state").asText()).isEqualTo("OK");
    }

    @Test
    void everyLimitOfTheTypeReachesTheChild() {
        JsonNode job = run("showlimits", List.of("any")).get(0);
        assertThat(job.get("state").asText()).isEqualTo("OK");
        assertThat(job.get("attempts").get(0).get("outputTail").asText())
                .containsPattern("Max cpu time +7 +8 +seconds")
                .containsPattern("Max address space +1073741824 +1073741824 +bytes")
                .containsPattern("Max open files +64 +64 ")
                .containsPattern("Max processes +50 +50 ");
    }

    /** Submits over HTTP, waits until the batch is done, returns each job with its attempts, in target order. */
    static List<JsonNode> run(String type, List<String> targets) {
        long batch = procq.submit(type, targets);
        await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        JsonNode items = procq.get("/api/v1/batches/" + batch + "/jobs").json().get("items");
        List<JsonNode> jobs = new java.util.ArrayList<>();
        for (JsonNode item : items) jobs.add(procq.get("/api/v1/jobs/" + item.get("id").asLong()).json());
        return jobs;
    }
}
