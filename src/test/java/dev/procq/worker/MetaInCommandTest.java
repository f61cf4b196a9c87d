package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** {meta.NAME} in a command: a scan's meta reaches the child as argv elements; a missing key fails only its row. */
class MetaInCommandTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              dims:
                command: ["printf", "%s is %sx%s, orientation %s", "{target}", "{meta.width}", "{meta.height}", "{meta.orientation}"]
                concurrency: 2
            """;

    @TempDir
    static Path photos;
    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        photos = photos.toRealPath();
        Files.write(photos.resolve("plain.jpg"), TestImages.jpeg(40, 30));
        // a name a shell would expand: it must arrive as one argument, untouched
        Files.write(photos.resolve("turned $(id) 'x'.jpg"), TestImages.jpegWithExif(64, 48, 6, "2024:06:01 12:34:56", null));
        Files.write(photos.resolve("corrupt.jpg"), "this is not a JPEG".getBytes());
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_SCAN_ROOTS", "photos=" + photos,
                "PROCQ_WORKER_CONCURRENCY", "2", "PROCQ_WORKER_METRICS_PORT", "off")).startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void metaValuesBecomeArgumentsAndAMissingValueFailsOnlyItsRow() {
        Procq.Response response = procq.postJson("/api/v1/batches",
                "{\"type\": \"dims\", \"scan\": {\"root\": \"photos\", \"glob\": \"*.jpg\"}}");
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        long id = response.json().get("id").asLong();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> procq.batch(id).get("state").asText().equals("DONE"));

        Map<String, JsonNode> jobs = new HashMap<>();
        for (JsonNode item : procq.get("/api/v1/batches/" + id + "/jobs").json().get("items")) {
            jobs.put(Path.of(item.get("target").asText()).getFileName().toString(),
                    procq.get("/api/v1/jobs/" + item.get("id").asLong()).json());
        }
        assertThat(jobs).hasSize(3);

        JsonNode plain = jobs.get("plain.jpg");
        assertThat(plain.get("state").asText()).isEqualTo("OK");
        assertThat(plain.get("attempts").get(0).get("outputTail").asText())
                .isEqualTo(photos.resolve("plain.jpg") + " is 40x30, orientation 1");

        JsonNode turned = jobs.get("turned $(id) 'x'.jpg");
        assertThat(turned.get("state").asText()).isEqualTo("OK");
        assertThat(turned.get("attempts").get(0).get("outputTail").asText())
                .isEqualTo(photos.resolve("turned $(id) 'x'.jpg") + " is 64x48, orientation 6");

        JsonNode corrupt = jobs.get("corrupt.jpg");
        assertThat(corrupt.get("state").asText()).isEqualTo("FAILED");
        assertThat(corrupt.get("meta").get("error").asText()).isEqualTo("not an image: unknown content");
        assertThat(corrupt.get("error").asText()).contains("{meta.width}");
        assertThat(corrupt.get("attempts").get(0).get("decidedBy").asText()).isEqualTo("no retry: no command for this target");
    }
}
