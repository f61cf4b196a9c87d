package dev.procq.intake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.testing.TestImages;
import java.io.FileInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * POST /api/v1/batches with a "scan": which files of a real directory tree become rows, with
 * which meta, and which requests are refused whole. No worker runs here.
 *
 * <p>Tests run as root on CI, and permission bits do not stop root, so "unreadable" is made
 * three ways that hold for any user: a corrupt JPEG, a JPEG cut off inside its header, and an
 * empty .jpg. A FIFO named .jpg shows the scan never opens what is not a regular file (it
 * would wait forever). A chmod-000 file and directory are added as well; what they must give
 * depends on whether this user is really kept out, which the test finds out by trying.
 */
class DirectoryScanTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              thumbnail:
                command: ["echo", "{target}"]
                targetPattern: '\\.jpe?g$'
              anything:
                command: ["echo", "{target}"]
            """;
    static final Instant TOP_MTIME = Instant.parse("2023-05-06T07:08:09Z");

    @TempDir
    static Path base;
    static Path photos;
    static Path elsewhere;
    static boolean permissionsBindUs;
    static byte[] top;
    static byte[] rotated;
    static Procq procq;
    static Procq noRoots;

    @BeforeAll
    static void start() throws Exception {
        base = base.toRealPath();
        photos = Files.createDirectories(base.resolve("photos"));
        elsewhere = Files.createDirectories(base.resolve("elsewhere"));
        Path june = Files.createDirectories(photos.resolve("2024/06"));

        top = TestImages.jpeg(40, 30);
        Files.write(photos.resolve("top.jpg"), top);
        Files.setLastModifiedTime(photos.resolve("top.jpg"), FileTime.from(TOP_MTIME));
        Files.write(photos.resolve("empty.jpg"), new byte[0]);
        Files.write(photos.resolve("UPPER.JPG"), top);
        Files.write(photos.resolve("2024/notes.txt"), "not a photo".getBytes());
        Files.write(photos.resolve("2024/photo.png"), TestImages.png(8, 8));
        rotated = TestImages.jpegWithExif(64, 48, 6, "2024:06:01 12:34:56", "+02:00");
        Files.write(june.resolve("rotated.jpg"), rotated);
        byte[] noise = new byte[3000];
        new Random(7).nextBytes(noise);
        Files.write(june.resolve("corrupt.jpg"), noise);
        // SOI and the EXIF segment, cut off before the frame header that holds the size
        Files.write(june.resolve("truncated.jpg"), Arrays.copyOf(rotated, 2 + 4 + 6 + 40));

        Files.write(elsewhere.resolve("secret.jpg"), top);
        Files.write(elsewhere.resolve("more.jpg"), top);
        Files.createSymbolicLink(photos.resolve("inside-link.jpg"), Path.of("top.jpg"));
        Files.createSymbolicLink(photos.resolve("outside-link.jpg"), Path.of("../elsewhere/secret.jpg"));
        Files.createSymbolicLink(photos.resolve("escape"), Path.of("../elsewhere"));
        Files.createSymbolicLink(photos.resolve("album"), Path.of("2024"));
        Files.createSymbolicLink(photos.resolve("dangling.jpg"), Path.of("nowhere.jpg"));
        Process mkfifo = new ProcessBuilder("mkfifo", photos.resolve("pipe.jpg").toString()).start();
        assertThat(mkfifo.waitFor()).isZero();

        Path locked = Files.createDirectories(photos.resolve("locked"));
        Files.write(locked.resolve("inside.jpg"), top);
        Files.write(photos.resolve("locked.jpg"), top);
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("---------"));
        Files.setPosixFilePermissions(photos.resolve("locked.jpg"), PosixFilePermissions.fromString("---------"));
        permissionsBindUs = !canOpen(photos.resolve("locked.jpg"));

        Path many = Files.createDirectories(base.resolve("many"));
        for (int i = 0; i < 11; i++) Files.write(many.resolve("a" + i + ".jpg"), top);

        procq = new Procq(postgres, TYPES, Map.of(
                "PROCQ_SCAN_ROOTS", "photos=" + photos + ",many=" + many,
                "PROCQ_MAX_BATCH_SIZE", "10")).checkedAgainst(OpenApiContract.load()).startApi();
        noRoots = new Procq(postgres, TYPES, Map.of()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
        noRoots.close();
        // let @TempDir delete what was locked
        Files.setPosixFilePermissions(photos.resolve("locked"), PosixFilePermissions.fromString("rwx------"));
    }

    @Test
    void scanRecordsEveryMatchingRegularFileWithItsFactsAndCountsWhatItSkipped() throws Exception {
        Procq.Response response = assertTimeoutPreemptively(Duration.ofSeconds(30), () -> procq.postJson("/api/v1/batches",
                "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"**/*.jpg\"}}"));

        assertThat(response.status()).as(response.body()).isEqualTo(202);
        long id = response.json().get("id").asLong();
        Map<String, JsonNode> rows = rowsByPath(id);
        List<String> expectedPaths = permissionsBindUs
                ? List.of("top.jpg", "empty.jpg", "inside-link.jpg", "locked.jpg",
                        "2024/06/rotated.jpg", "2024/06/corrupt.jpg", "2024/06/truncated.jpg")
                : List.of("top.jpg", "empty.jpg", "inside-link.jpg", "locked.jpg", "locked/inside.jpg",
                        "2024/06/rotated.jpg", "2024/06/corrupt.jpg", "2024/06/truncated.jpg");
        assertThat(rows.keySet()).containsExactlyInAnyOrderElementsOf(expectedPaths);
        assertThat(response.json().get("total").asLong()).isEqualTo(expectedPaths.size());

        JsonNode topRow = rows.get("top.jpg");
        assertThat(topRow.get("target").asText()).isEqualTo(photos.resolve("top.jpg").toString());
        assertThat(topRow.get("meta")).isEqualTo(json("""
                {"path": "top.jpg", "size": %d, "mtime": "2023-05-06T07:08:09Z",
                 "format": "JPEG", "width": 40, "height": 30, "orientation": 1}""".formatted(top.length)));

        JsonNode rotatedMeta = rows.get("2024/06/rotated.jpg").get("meta");
        assertThat(rotatedMeta.get("size").asLong()).isEqualTo(rotated.length);
        assertThat(Instant.parse(rotatedMeta.get("mtime").asText()))
                .isEqualTo(Files.getLastModifiedTime(photos.resolve("2024/06/rotated.jpg")).toInstant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
        assertThat(rotatedMeta.get("width").asInt()).isEqualTo(64);
        assertThat(rotatedMeta.get("height").asInt()).isEqualTo(48);
        assertThat(rotatedMeta.get("orientation").asInt()).isEqualTo(6);
        assertThat(rotatedMeta.get("exifDate").asText()).isEqualTo("2024-06-01T12:34:56+02:00");
        assertThat(rotatedMeta.has("error")).isFalse();

        // unreadable as images: each still has its row, with the reason, and no invented size
        assertThat(rows.get("2024/06/corrupt.jpg").get("meta").get("error").asText()).isEqualTo("not an image: unknown content");
        assertThat(rows.get("2024/06/truncated.jpg").get("meta").get("error").asText())
                .isEqualTo("unreadable JPEG header: the file ends inside it");
        assertThat(rows.get("empty.jpg").get("meta").get("error").asText()).isEqualTo("empty file");
        for (String broken : List.of("2024/06/corrupt.jpg", "2024/06/truncated.jpg", "empty.jpg")) {
            assertThat(rows.get(broken).get("meta").has("width")).as(broken).isFalse();
            assertThat(rows.get(broken).get("meta").get("size").asLong()).as(broken)
                    .isEqualTo(Files.size(photos.resolve(broken)));
        }

        // a symlink to a file inside the root is the file's real path; its meta keeps the name it was found under
        assertThat(rows.get("inside-link.jpg").get("target").asText()).isEqualTo(photos.resolve("top.jpg").toString());
        assertThat(rows.get("inside-link.jpg").get("meta").get("width").asInt()).isEqualTo(40);

        JsonNode lockedMeta = rows.get("locked.jpg").get("meta");
        if (permissionsBindUs) {
            assertThat(lockedMeta.get("error").asText()).isEqualTo("cannot read: permission denied");
        } else {
            assertThat(lockedMeta.get("width").asInt()).isEqualTo(40);
        }

        // no row leads out of the root, and nothing outside it was listed
        for (JsonNode row : rows.values()) {
            assertThat(Path.of(row.get("target").asText())).startsWith(photos);
        }

        Map<String, Long> expectedSkips = new HashMap<>(Map.of(
                "symlinkOutOfRoot", 2L, "symlinkToDirectory", 1L, "brokenSymlink", 1L, "notRegularFile", 1L));
        if (permissionsBindUs) expectedSkips.put("unreadable", 1L);
        JsonNode scan = response.json().get("scan");
        assertThat(scan.get("root").asText()).isEqualTo("photos");
        assertThat(scan.get("recorded").asLong()).isEqualTo(expectedPaths.size());
        assertThat(Procq.JSON.convertValue(scan.get("skipped"), new TypeReference<Map<String, Long>>() { }))
                .isEqualTo(expectedSkips);
        assertThat(scan.get("examples").findValuesAsText("path"))
                .contains("outside-link.jpg", "escape", "album", "dangling.jpg", "pipe.jpg");
    }

    @Test
    void aGlobWithoutDoubleStarMatchesOnlyThatLevelAndGlobsAreCaseSensitive() {
        Procq.Response response = procq.postJson("/api/v1/batches",
                "{\"type\": \"anything\", \"scan\": {\"root\": \"photos\", \"glob\": \"*.JPG\"}}");
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        assertThat(rowsByPath(response.json().get("id").asLong()).keySet()).containsExactly("UPPER.JPG");

        Procq.Response nested = procq.postJson("/api/v1/batches",
                "{\"type\": \"anything\", \"scan\": {\"root\": \"photos\", \"glob\": \"2024/**/*.{png,txt}\"}}");
        assertThat(nested.status()).as(nested.body()).isEqualTo(202);
        assertThat(rowsByPath(nested.json().get("id").asLong()).keySet())
                .containsExactlyInAnyOrder("2024/notes.txt", "2024/photo.png");
        JsonNode notes = rowsByPath(nested.json().get("id").asLong()).get("2024/notes.txt").get("meta");
        assertThat(notes.has("error")).as("a text file is not an image and not an error").isFalse();
        assertThat(notes.has("width")).isFalse();
    }

    @Test
    void aGlobThatNamesItsDirectoriesFindsOnlyWhatIsThere() {
        Procq.Response response = procq.postJson("/api/v1/batches",
                "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"2024/06/*.jpg\"}}");
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        assertThat(rowsByPath(response.json().get("id").asLong()).keySet())
                .containsExactlyInAnyOrder("2024/06/rotated.jpg", "2024/06/corrupt.jpg", "2024/06/truncated.jpg");
    }

    static Stream<Arguments> refusedScans() {
        return Stream.of(
                Arguments.of("unknown root", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"etc\", \"glob\": \"**/*.jpg\"}}",
                        400, "unknown scan root 'etc' (known: photos, many)"),
                Arguments.of("parent in glob", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"../elsewhere/*.jpg\"}}",
                        400, "may not contain '..'"),
                Arguments.of("parent inside glob", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"**/../../*.jpg\"}}",
                        400, "may not contain '..'"),
                Arguments.of("absolute glob", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"/etc/*\"}}",
                        400, "must be relative"),
                Arguments.of("broken glob", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"[a-\"}}",
                        400, "not a valid glob"),
                Arguments.of("path as root", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"/etc\", \"glob\": \"*\"}}",
                        400, "unknown scan root '/etc'"),
                Arguments.of("missing glob", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\"}}", 400, "scan.glob is required"),
                Arguments.of("extra field", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"*\", \"follow\": true}}",
                        400, "unknown field 'scan.follow'"),
                Arguments.of("scan and targets", "{\"type\": \"thumbnail\", \"targets\": [\"/a.jpg\"], \"scan\": {\"root\": \"photos\", \"glob\": \"*.jpg\"}}",
                        400, "one of targets, scan or file, not several"),
                Arguments.of("a match the type refuses", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"**/*\"}}",
                        400, "does not match the targetPattern"),
                Arguments.of("no match", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"**/*.jpeg\"}}",
                        400, "scan photos:**/*.jpeg matched no files"),
                Arguments.of("directories through a symlink", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"album/06/*.jpg\"}}",
                        400, "matched no files it could record (skipped: {symlinkToDirectory=1})"),
                Arguments.of("out through a symlink", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"escape/*.jpg\"}}",
                        400, "matched no files it could record"),
                Arguments.of("more matches than a batch may hold", "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"many\", \"glob\": \"*.jpg\"}}",
                        413, "at most 10 targets"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusedScans")
    void aRefusedScanAnswersWhyAndRecordsNothing(String name, String body, int status, String message) {
        long jobsBefore = count("procq.job");
        long batchesBefore = count("procq.batch");
        Procq.Response response = procq.postJson("/api/v1/batches", body);
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        assertThat(response.json().get("error").asText()).contains(message);
        assertThat(count("procq.job")).isEqualTo(jobsBefore);
        assertThat(count("procq.batch")).isEqualTo(batchesBefore);
    }

    @Test
    void withoutConfiguredRootsScanningIsNotAvailable() {
        long jobsBefore = count("procq.job");
        Procq.Response response = noRoots.postJson("/api/v1/batches",
                "{\"type\": \"thumbnail\", \"scan\": {\"root\": \"photos\", \"glob\": \"**/*.jpg\"}}");
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("error").asText()).contains("no scan roots are configured (PROCQ_SCAN_ROOTS)");
        assertThat(count("procq.job")).isEqualTo(jobsBefore);
    }

    private static Map<String, JsonNode> rowsByPath(long batchId) {
        Map<String, JsonNode> rows = new HashMap<>();
        procq.database().jdbi().useHandle(h -> h.createQuery(
                        "SELECT target, meta::text AS meta, state FROM procq.job WHERE batch_id = :id")
                .bind("id", batchId).mapToMap().forEach(row -> {
                    JsonNode meta = json((String) row.get("meta"));
                    assertThat(row.get("state")).isEqualTo("PENDING");
                    JsonNode previous = rows.put(meta.get("path").asText(),
                            Procq.JSON.createObjectNode().put("target", (String) row.get("target")).set("meta", meta));
                    assertThat(previous).as("one row per path").isNull();
                }));
        return rows;
    }

    private static long count(String table) {
        return procq.database().jdbi().withHandle(h -> h.createQuery("SELECT count(*) FROM " + table).mapTo(Long.class).one());
    }

    private static JsonNode json(String text) {
        try {
            return Procq.JSON.readTree(text);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean canOpen(Path file) {
        try (FileInputStream in = new FileInputStream(file.toFile())) {
            return in.read() >= 0;
        } catch (IOException e) {
            return false;
        }
    }
}
