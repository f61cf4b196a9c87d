package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.config.Priority;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** POST /api/v1/batches with no worker running: what is recorded, and what is refused whole. */
class BatchIntakeTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
              jpeg:
                command: ["echo", "{target}"]
                targetPattern: '^[^\\x00]+\\.jpe?g$'
              flags:
                command: ["echo", "{target}"]
                allowDashTargets: true
            """;

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_MAX_TARGET_LENGTH", "100", "PROCQ_MAX_BATCH_SIZE", "1000"))
                .checkedAgainst(OpenApiContract.load()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void jsonBatchIsRecordedPendingAndAnswered202WithLocation() {
        Procq.Response response = procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"targets\": [\"a\", \"b c\", \"$(id)\"]}");
        assertThat(response.status()).isEqualTo(202);
        long id = response.json().get("id").asLong();
        assertThat(response.json().get("total").asLong()).isEqualTo(3);
        assertThat(response.json().get("type").asText()).isEqualTo("echo");
        assertThat(response.header("Location")).isEqualTo("/api/v1/batches/" + id);

        JsonNode batch = procq.batch(id);
        assertThat(batch.get("state").asText()).isEqualTo("PENDING");
        assertThat(batch.get("counts").get("PENDING").asLong()).isEqualTo(3);
        List<String> targets = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT target FROM procq.job WHERE batch_id = :id AND state = 'PENDING' ORDER BY id")
                .bind("id", id).mapTo(String.class).list());
        assertThat(targets).containsExactly("a", "b c", "$(id)");
    }

    @Test
    void theApiAcceptsExactlyThePrioritiesTheSchemaDoes() {
        for (int priority : new int[] {Priority.MIN, Priority.MAX}) {
            assertThat(procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"priority\": " + priority
                    + ", \"targets\": [\"a\"]}").status()).isEqualTo(202);
        }
        for (int priority : new int[] {Priority.MIN - 1, Priority.MAX + 1}) {
            assertThat(procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"priority\": " + priority
                    + ", \"targets\": [\"a\"]}").status()).isEqualTo(400);
        }
        String check = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'c' AND conrelid = 'procq.batch'::regclass"
                        + " AND pg_get_constraintdef(oid) LIKE '%priority%'").mapTo(String.class).one());
        // PostgreSQL shows BETWEEN as two comparisons, the negative bound quoted ('-1000'::integer).
        List<Integer> bounds = java.util.regex.Pattern.compile("-?[0-9]+").matcher(check).results()
                .map(m -> Integer.parseInt(m.group())).toList();
        assertThat(bounds).as(check).containsExactly(Priority.MIN, Priority.MAX);
    }

    @Test
    void textPlainBatchTakesOneTargetPerLineAndSkipsBlankLines() {
        Procq.Response response = procq.post("/api/v1/batches?type=echo", "text/plain; charset=utf-8",
                "one\r\ntwo with spaces\n\nthree\n", Map.of());
        assertThat(response.status()).isEqualTo(202);
        assertThat(response.json().get("total").asLong()).isEqualTo(3);
    }

    @Test
    void targetsMayComeBeforeTheTypeInJson() {
        Procq.Response response = procq.postJson("/api/v1/batches", "{\"targets\": [\"x\", \"y\"], \"priority\": 5, \"type\": \"echo\"}");
        assertThat(response.status()).isEqualTo(202);
        assertThat(procq.batch(response.json().get("id").asLong()).get("priority").asInt()).isEqualTo(5);
    }

    @Test
    void idempotencyKeyReturnsTheFirstBatchInsteadOfASecond() {
        Map<String, String> key = Map.of("Idempotency-Key", "nightly-2026-11-23");
        Procq.Response first = procq.post("/api/v1/batches", "application/json", "{\"type\": \"echo\", \"targets\": [\"a\", \"b\"]}", key);
        Procq.Response again = procq.post("/api/v1/batches", "application/json", "{\"type\": \"echo\", \"targets\": [\"a\", \"b\"]}", key);
        assertThat(first.status()).isEqualTo(202);
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.json().get("id").asLong()).isEqualTo(first.json().get("id").asLong());
        long rows = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT count(*) FROM procq.batch WHERE idempotency_key = 'nightly-2026-11-23'").mapTo(Long.class).one());
        assertThat(rows).isEqualTo(1);
    }

    @Test
    void targetsMayStartWithADashOnlyWhereTheTypeAllowsIt() {
        assertThat(procq.postJson("/api/v1/batches", "{\"type\": \"flags\", \"targets\": [\"-v\"]}").status()).isEqualTo(202);
        assertThat(procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"targets\": [\"-v\"]}").status()).isEqualTo(400);
    }

    static Stream<Arguments> badRequests() {
        String json = "application/json";
        return Stream.of(
                Arguments.of("malformed JSON", json, "{\"type\": \"echo\", \"targets\": [\"a\",", 400, "malformed JSON"),
                Arguments.of("not an object", json, "[\"a\"]", 400, "JSON object"),
                Arguments.of("unknown type", json, "{\"type\": \"nope\", \"targets\": [\"a\"]}", 400, "unknown type 'nope'"),
                Arguments.of("missing type", json, "{\"targets\": [\"a\"]}", 400, "type is required"),
                Arguments.of("missing targets", json, "{\"type\": \"echo\"}", 400, "targets is required"),
                Arguments.of("empty list", json, "{\"type\": \"echo\", \"targets\": []}", 400, "no targets"),
                Arguments.of("empty target", json, "{\"type\": \"echo\", \"targets\": [\"a\", \"\"]}", 400, "targets[1]: empty target"),
                Arguments.of("non-string target", json, "{\"type\": \"echo\", \"targets\": [\"a\", 7]}", 400, "targets[1]: must be a string"),
                Arguments.of("nested target", json, "{\"type\": \"echo\", \"targets\": [[\"a\"]]}", 400, "targets[0]: must be a string"),
                Arguments.of("leading dash", json, "{\"type\": \"echo\", \"targets\": [\"ok\", \"ok\", \"--help\"]}", 400, "targets[2]: starts with '-'"),
                Arguments.of("NUL byte", json, "{\"type\": \"echo\", \"targets\": [\"a\\u0000b\"]}", 400, "control character U+0000"),
                Arguments.of("newline", json, "{\"type\": \"echo\", \"targets\": [\"a\\nb\"]}", 400, "control character U+000A"),
                Arguments.of("pattern mismatch", json, "{\"type\": \"jpeg\", \"targets\": [\"a.jpg\", \"b.png\"]}", 400, "targets[1]: does not match"),
                Arguments.of("unknown field", json, "{\"type\": \"echo\", \"targets\": [\"a\"], \"command\": \"rm\"}", 400, "unknown field 'command'"),
                Arguments.of("trailing garbage", json, "{\"type\": \"echo\", \"targets\": [\"a\"]} {}", 400, "exactly one JSON object"),
                Arguments.of("too long", json, "{\"type\": \"echo\", \"targets\": [\"" + "x".repeat(101) + "\"]}", 413, "longer than 100"),
                Arguments.of("bad priority", json, "{\"type\": \"echo\", \"priority\": 5000, \"targets\": [\"a\"]}", 400, "priority"),
                Arguments.of("wrong content type", "application/xml", "<targets/>", 415, "Content-Type"),
                Arguments.of("no content type", null, "a\nb", 415, "Content-Type"),
                Arguments.of("text without type", "text/plain", "a\nb", 400, "?type="));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void badRequestIsRefusedWithAReasonAndRecordsNothing(String name, String contentType, String body, int status, String message) {
        long before = rowCount();
        Procq.Response response = procq.post("/api/v1/batches", contentType, body, Map.of());
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        assertThat(response.json().get("error").asText()).contains(message);
        assertThat(rowCount()).isEqualTo(before);
    }

    @Test
    void invalidUtf8InTextBodyIsRefusedAndRecordsNothing() {
        long before = rowCount();
        byte[] body = "good\nbad-\u00ff\n".getBytes(StandardCharsets.ISO_8859_1);
        Procq.Response response = procq.postBytes("/api/v1/batches?type=echo", "text/plain", body);
        assertThat(response.status()).isEqualTo(400);
        assertThat(response.json().get("error").asText()).contains("UTF-8");
        assertThat(rowCount()).isEqualTo(before);
    }

    @Test
    void aBatchOverTheSizeLimitIsRefusedWith413AndRecordsNothing() {
        long before = rowCount();
        String body = "t\n".repeat(1001);
        Procq.Response response = procq.post("/api/v1/batches?type=echo", "text/plain", body, Map.of());
        assertThat(response.status()).isEqualTo(413);
        assertThat(rowCount()).isEqualTo(before);
    }

    @Test
    void unknownBatchIs404AndBadIdIs400() {
        assertThat(procq.get("/api/v1/batches/999999").status()).isEqualTo(404);
        assertThat(procq.get("/api/v1/batches/abc").status()).isEqualTo(400);
        assertThat(procq.get("/api/v1/jobs/999999").status()).isEqualTo(404);
        assertThat(procq.get("/api/v1/batches/999999").json().get("error").asText()).isEqualTo("batch 999999 not found");
        Procq.Response unknown = procq.get("/api/v1/nope");
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.json().get("error").asText()).isEqualTo("no such endpoint: /api/v1/nope");
    }

    @Test
    void batchesAreListedNewestFirstInPages() {
        for (int i = 0; i < 3; i++) procq.submit("echo", List.of("page-" + i));
        JsonNode page = procq.get("/api/v1/batches?limit=2").json();
        assertThat(page.get("items")).hasSize(2);
        long first = page.get("items").get(0).get("id").asLong();
        long second = page.get("items").get(1).get("id").asLong();
        assertThat(first).isGreaterThan(second);
        JsonNode next = procq.get(page.get("next").asText()).json();
        assertThat(next.get("items").get(0).get("id").asLong()).isLessThan(second);
    }

    private static long rowCount() {
        return procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT (SELECT count(*) FROM procq.batch) + (SELECT count(*) FROM procq.job)").mapTo(Long.class).one());
    }
}
