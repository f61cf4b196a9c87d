package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A type with a cluster-wide limit is claimed through its own path (procq.job_type_claim); a paused
 * batch of such a type must claim nothing there either, and run in full once resumed.
 */
class HeldBatchOfALimitedTypeTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    @Test
    void aPausedBatchOfALimitedTypeClaimsNothingUntilItIsResumed() throws Exception {
        String types = """
                types:
                  limited:
                    command: ["echo", "{target}"]
                    concurrency: 4
                    globalConcurrency: 2
                  keyed:
                    command: ["echo", "{target}"]
                    concurrency: 4
                    key: {regex: '^(\\w+)-'}
                    keyConcurrency: 1
                """;
        try (Procq procq = new Procq(postgres, types, Map.of()).startApi()) {
            long limited = procq.submit("limited", List.of("a", "b", "c", "d", "e"));
            long keyed = procq.submit("keyed", List.of("x-1", "x-2", "y-1", "y-2"));
            for (long batch : List.of(limited, keyed)) {
                assertThat(procq.postJson("/api/v1/batches/" + batch + "/pause", "").status()).isEqualTo(200);
            }
            procq.startWorker();

            // Long enough for several claim rounds of a worker that polls every 200 ms.
            Thread.sleep(1_500);
            for (long batch : List.of(limited, keyed)) {
                assertThat(procq.batch(batch).get("counts").get("PENDING").asInt()).as("batch %d while paused", batch)
                        .isEqualTo(procq.batch(batch).get("total").asInt());
            }

            for (long batch : List.of(limited, keyed)) {
                assertThat(procq.postJson("/api/v1/batches/" + batch + "/resume", "").status()).isEqualTo(200);
            }
            for (long batch : List.of(limited, keyed)) {
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
                assertThat(procq.batch(batch).get("counts").get("OK").asInt())
                        .isEqualTo(procq.batch(batch).get("total").asInt());
            }
        }
    }
}
