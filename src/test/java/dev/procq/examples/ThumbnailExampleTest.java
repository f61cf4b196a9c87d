package dev.procq.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.Main;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.TestImages;
import java.awt.image.BufferedImage;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * examples/thumbnails as shipped: a scan of photos made by ImageMagick, then a real
 * `procq worker` process with the example's job types and THUMBNAIL_DIR in its environment,
 * running Debian's /usr/bin/convert. Skipped where ImageMagick is not installed (.ci/run installs it).
 */
class ThumbnailExampleTest {
    static final Path CONVERT = Path.of("/usr/bin/convert");

    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    @TempDir
    static Path work;
    static Path photos;
    static Path thumbs;
    static Procq procq;
    static Process worker;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CONVERT), "ImageMagick is not installed at " + CONVERT);
        work = work.toRealPath();
        photos = Files.createDirectories(work.resolve("photos"));
        thumbs = work.resolve("thumbs");
        Files.createDirectories(photos.resolve("2024/june"));
        convert("-size", "640x480", "gradient:navy-orange", photos.resolve("wide.jpg"));
        convert("-size", "100x80", "plasma:fractal", photos.resolve("2024/small one.jpg"));
        // a camera held sideways: 300x200 pixels with EXIF orientation 6
        Files.write(photos.resolve("2024/june/turned.jpg"), TestImages.jpegWithExif(300, 200, 6, "2024:06:01 12:34:56", null));
        byte[] noise = new byte[4000];
        new Random(1).nextBytes(noise);
        Files.write(photos.resolve("2024/corrupt.jpg"), noise);
        Files.writeString(photos.resolve("2024/notes.txt"), "not a photo");

        String types = Files.readString(Path.of("examples/thumbnails/jobtypes.yaml"));
        procq = new Procq(postgres, types, Map.of("PROCQ_SCAN_ROOTS", "photos=" + photos)).startApi();
        worker = startWorkerProcess();
    }

    @AfterAll
    static void stop() throws Exception {
        if (worker != null) {
            worker.destroy();
            worker.waitFor();
        }
        if (procq != null) procq.close();
    }

    @Test
    void everyPhotoButTheCorruptOneGetsAThumbnailOnDisk() throws Exception {
        Procq.Response response = procq.postJson("/api/v1/batches",
                "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"**/*.jpg\"}, \"priority\": 0}");
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        assertThat(response.json().get("total").asLong()).isEqualTo(4);
        long id = response.json().get("id").asLong();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                .until(() -> procq.batch(id).get("state").asText().equals("DONE"));

        Map<String, JsonNode> jobs = new HashMap<>();
        for (JsonNode item : procq.get("/api/v1/batches/" + id + "/jobs").json().get("items")) {
            jobs.put(item.get("meta").get("path").asText(), procq.get("/api/v1/jobs/" + item.get("id").asLong()).json());
        }
        for (String ok : List.of("wide.jpg", "2024/small one.jpg", "2024/june/turned.jpg")) {
            assertThat(jobs.get(ok).get("state").asText()).as(ok + ": " + jobs.get(ok)).isEqualTo("OK");
        }
        JsonNode corrupt = jobs.get("2024/corrupt.jpg");
        assertThat(corrupt.get("state").asText()).isEqualTo("FAILED");
        assertThat(corrupt.get("meta").get("error").asText()).isEqualTo("not an image: unknown content");
        assertThat(corrupt.get("attempts").get(0).get("outputTail").asText()).contains("convert").contains("corrupt.jpg");

        // bounded by 256x256, never enlarged, turned upright by -auto-orient
        assertThat(size(thumbs.resolve("wide.jpg"))).isEqualTo("256x192");
        assertThat(size(thumbs.resolve("2024/small one.jpg"))).isEqualTo("100x80");
        assertThat(size(thumbs.resolve("2024/june/turned.jpg"))).isEqualTo("171x256");
        try (Stream<Path> files = Files.walk(thumbs)) {
            assertThat(files.filter(Files::isRegularFile).map(p -> thumbs.relativize(p).toString()))
                    .as("a thumbnail for each good photo and nothing else, no partial file for the corrupt one")
                    .containsExactlyInAnyOrder("wide.jpg", "2024/small one.jpg", "2024/june/turned.jpg");
        }
    }

    private static String size(Path image) throws Exception {
        BufferedImage read = ImageIO.read(image.toFile());
        assertThat(read).as(image + " is a readable image").isNotNull();
        return read.getWidth() + "x" + read.getHeight();
    }

    private static void convert(Object... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(CONVERT.toString()));
        for (Object arg : args) command.add(arg.toString());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor()).as(String.join(" ", command) + ": " + output).isZero();
    }

    /** `procq worker` as its own JVM, configured only through its environment, as an operator runs it. */
    private static Process startWorkerProcess() throws Exception {
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "worker")
                .redirectErrorStream(true)
                .redirectOutput(work.resolve("worker.log").toFile());
        Map<String, String> env = builder.environment();
        env.putAll(postgres.environment());
        env.put("PROCQ_JOB_TYPES", new File("examples/thumbnails/jobtypes.yaml").getAbsolutePath());
        env.put("PROCQ_WORKER_CONCURRENCY", "4");
        env.put("PROCQ_WORKER_METRICS_PORT", "0");
        env.put("PROCQ_HTTP_PORT", "0");
        env.put("PROCQ_POLL_INTERVAL", "200ms");
        env.put("THUMBNAIL_DIR", thumbs.toString());
        return builder.start();
    }
}
