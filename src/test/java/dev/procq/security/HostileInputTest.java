package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What a hostile submitter can send to POST /api/v1/batches. Shell syntax is only data and is
 * recorded as it is; everything else here is refused with the right 4xx, records nothing, says
 * nothing about the server's insides, and (for the endless bodies) is cut off without the
 * server waiting for, or holding, the whole body. BatchIntakeTest covers the ordinary refusals.
 */
class HostileInputTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              permissive:
                command: ["echo", "{target}"]
              jpeg:
                command: ["echo", "{target}"]
                targetPattern: '^[^\\x00]+\\.jpe?g$'
              dashes:
                command: ["echo", "{target}"]
                allowDashTargets: true
            """;
    static final int MAX_BATCH = 100_000;
    static final String[] SHELL_TEXT = {"$(touch /tmp/pwned)", "; rm -rf /", "`id`"};
    /** Words that would mean a stack trace, an exception or SQL reached the client. */
    static final List<String> INTERNALS = List.of("Exception", "at dev.", "at org.", "at java.", "\tat ", "SELECT ",
            "INSERT INTO", "COPY procq", "org.postgresql", "jdbi", "jackson", "StreamReadConstraints");

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_MAX_BATCH_SIZE", Integer.toString(MAX_BATCH))).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    /** One hostile request: how it is sent and what it must get back. */
    record Hostile(String name, String contentType, String query, Supplier<InputStream> body, boolean streamed,
                   long bodyBytes, int status, String message) {
        Hostile withQuery(String otherQuery) {
            return new Hostile(name, contentType, otherQuery, body, streamed, bodyBytes, status, message);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Hostile json(String name, String body, int status, String message) {
        return fixed(name, "application/json", "", body.getBytes(StandardCharsets.UTF_8), status, message);
    }

    static Hostile text(String name, String body, int status, String message) {
        return fixed(name, "text/plain; charset=utf-8", "?type=permissive", body.getBytes(StandardCharsets.UTF_8), status, message);
    }

    static Hostile fixed(String name, String contentType, String query, byte[] body, int status, String message) {
        return new Hostile(name, contentType, query, () -> new ByteArrayInputStream(body), false, body.length, status, message);
    }

    static Hostile streamed(String name, String contentType, String query, Supplier<InputStream> body, long bodyBytes,
                            int status, String message) {
        return new Hostile(name, contentType, query, body, true, bodyBytes, status, message);
    }

    static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object part : parts) {
            if (part instanceof String s) out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            else if (part instanceof int[] raw) for (int b : raw) out.write(b);
        }
        return out.toByteArray();
    }

    static String nested(String open, int depth, String inner, String close) {
        return open.repeat(depth) + inner + close.repeat(depth);
    }

    static Stream<Arguments> hostileRequests() {
        String jsonType = "application/json";
        String textType = "text/plain";
        String megabyte = "x".repeat(1 << 20);
        long tenMillion = 10_000_000;
        return Stream.of(
                // options
                json("option-like target -o/etc/passwd", "{\"type\": \"permissive\", \"targets\": [\"-o/etc/passwd\"]}", 400, "starts with '-'"),
                text("--help as a text line", "fine\n--help\n", 400, "line 2: starts with '-'"),
                // control characters
                fixed("raw NUL byte in a text line", textType, "?type=permissive", bytes("ok\na", new int[] {0}, "b\n"), 400, "control character U+0000"),
                fixed("raw NUL byte inside a JSON string", jsonType, "", bytes("{\"type\": \"permissive\", \"targets\": [\"a", new int[] {0}, "b\"]}"), 400, "malformed JSON"),
                json("terminal escape (ESC) in JSON", "{\"type\": \"permissive\", \"targets\": [\"\\u001b[2J\"]}", 400, "control character U+001B"),
                text("DEL in a text line", "a\u007fb\n", 400, "control character U+007F"),
                json("C1 control CSI (U+009B) in JSON", "{\"type\": \"permissive\", \"targets\": [\"a\\u009b31m\"]}", 400, "control character U+009B"),
                json("lone surrogate through a JSON escape", "{\"type\": \"permissive\", \"targets\": [\"a\\ud800b\"]}", 400, "lone surrogate"),
                // size
                json("1 MB target in JSON", "{\"type\": \"permissive\", \"targets\": [\"" + megabyte + "\"]}", 413, "a JSON string longer than"),
                text("1 MB line in text", megabyte + "\n", 413, "line 1: longer than 4096"),
                streamed("10,000,000 targets as text/plain", textType, "?type=permissive",
                        () -> Bodies.of("", tenMillion, i -> "t" + i + "\n", ""),
                        Bodies.length("", tenMillion, i -> "t" + i + "\n", ""), 413, "at most " + MAX_BATCH + " targets"),
                streamed("10,000,000 targets as JSON", jsonType, "",
                        () -> Bodies.of("{\"type\": \"permissive\", \"targets\": [\"t\"", tenMillion - 1, i -> ",\"t" + i + "\"", "]}"),
                        Bodies.length("{\"type\": \"permissive\", \"targets\": [\"t\"", tenMillion - 1, i -> ",\"t" + i + "\"", "]}"),
                        413, "at most " + MAX_BATCH + " targets"),
                streamed("endless single text line", textType, "?type=permissive",
                        () -> Bodies.repeated("", "x", Bodies.ENDLESS, ""), Bodies.ENDLESS, 413, "line 1: longer than 4096"),
                streamed("never-ending JSON string", jsonType, "",
                        () -> Bodies.repeated("{\"type\": \"permissive\", \"targets\": [\"", "x", Bodies.ENDLESS, ""),
                        Bodies.ENDLESS, 413, "a JSON string longer than"),
                streamed("endless targets before the type", jsonType, "",
                        () -> Bodies.repeated("{\"targets\": [\"a\"", ",\"" + "y".repeat(100) + "\"", Bodies.ENDLESS, ""),
                        Bodies.ENDLESS, 413, "put \"type\" first"),
                streamed("10 MB string as the type", jsonType, "",
                        () -> Bodies.repeated("{\"type\": \"", "z", 10L << 20, "\", \"targets\": [\"a\"]}"),
                        10L << 20, 413, "a JSON string longer than"),
                streamed("10 MB field name", jsonType, "",
                        () -> Bodies.repeated("{\"", "f", 10L << 20, "\": 1}"), 10L << 20, 413, "a JSON field name longer than"),
                json("2,000-digit priority", "{\"type\": \"permissive\", \"priority\": " + "9".repeat(2000) + ", \"targets\": [\"a\"]}", 413, "a JSON number longer than"),
                // encodings
                fixed("byte 0xFF in a JSON string", jsonType, "", bytes("{\"type\": \"permissive\", \"targets\": [\"a", new int[] {0xff}, "\"]}"), 400, "not valid UTF-8"),
                fixed("overlong UTF-8 '/' (C0 AF) in a JSON string", jsonType, "", bytes("{\"type\": \"permissive\", \"targets\": [\"..", new int[] {0xc0, 0xaf}, "etc\"]}"), 400, "not valid UTF-8 at byte 38"),
                fixed("UTF-8-encoded surrogate pair (CESU-8) in a JSON string", jsonType, "", bytes("{\"type\": \"permissive\", \"targets\": [\"", new int[] {0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}, "\"]}"), 400, "not valid UTF-8"),
                fixed("code point above U+10FFFF in a JSON string", jsonType, "", bytes("{\"type\": \"permissive\", \"targets\": [\"", new int[] {0xf4, 0x90, 0x80, 0x80}, "\"]}"), 400, "not valid UTF-8"),
                fixed("overlong UTF-8 '/' (C0 AF) in a text line", textType, "?type=permissive", bytes("..", new int[] {0xc0, 0xaf}, "etc\n"), 400, "not valid UTF-8"),
                fixed("UTF-8-encoded surrogate (ED A0 80) in text", textType, "?type=permissive", bytes("a", new int[] {0xed, 0xa0, 0x80}, "\n"), 400, "not valid UTF-8"),
                fixed("truncated UTF-8 sequence at the end of text", textType, "?type=permissive", bytes("ok\neuro", new int[] {0xe2, 0x82}), 400, "not valid UTF-8"),
                // nesting
                json("targets nested 100,000 deep", "{\"type\": \"permissive\", \"targets\": " + nested("[", 100_000, "\"a\"", "]") + "}", 400, "targets[0]: must be a string"),
                json("top level nested 100,000 deep", nested("[", 100_000, "", "]"), 400, "must be a JSON object"),
                json("objects nested 100,000 deep as the type", "{\"type\": " + nested("{\"a\": ", 100_000, "1", "}") + "}", 400, "type must be a string"),
                // content types
                fixed("HTML form (x-www-form-urlencoded)", "application/x-www-form-urlencoded", "?type=permissive", bytes("targets=a"), 415, "Content-Type"),
                fixed("multipart form", "multipart/form-data; boundary=x", "?type=permissive", bytes("--x\r\n\r\na\r\n--x--\r\n"), 415, "Content-Type"),
                fixed("text/html", "text/html", "?type=permissive", bytes("<p>a</p>"), 415, "Content-Type"),
                fixed("octet-stream", "application/octet-stream", "?type=permissive", bytes("a\n"), 415, "Content-Type"),
                // types and fields
                json("unknown type naming a program", "{\"type\": \"rm\", \"targets\": [\"-rf\"]}", 400, "unknown type 'rm'"),
                text("unknown type in the query", "a\n", 400, "").withQuery("?type=sh"),
                json("type with SQL in it", "{\"type\": \"x'; DROP TABLE batch; --\", \"targets\": [\"a\"]}", 400, "unknown type"),
                json("priority with SQL in it", "{\"type\": \"permissive\", \"priority\": \"1; DROP TABLE batch\", \"targets\": [\"a\"]}", 400, "priority must be a whole number"),
                json("target against the type's pattern", "{\"type\": \"jpeg\", \"targets\": [\"a.jpg\", \"/etc/shadow\"]}", 400, "targets[1]: does not match")
        ).map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileRequests")
    void hostileRequestIsRefusedAndRecordsNothing(Hostile hostile) throws Exception {
        long before = rowCount();
        Map<String, String> headers = new HashMap<>();
        headers.put("Content-Type", hostile.contentType());
        RawHttp.Result result;
        long started = System.nanoTime();
        if (hostile.streamed()) {
            result = RawHttp.streamChunked(port(), "/api/v1/batches" + hostile.query(), headers,
                    hostile.body().get(), Duration.ofSeconds(60));
        } else {
            result = RawHttp.send(port(), "POST", "/api/v1/batches" + hostile.query(), headers,
                    hostile.body().get().readAllBytes());
        }
        long millis = (System.nanoTime() - started) / 1_000_000;

        assertThat(result.status()).as(result.body()).isEqualTo(hostile.status());
        JsonNode error = Procq.JSON.readTree(result.body());
        assertThat(error.get("error").asText()).contains(hostile.message());
        assertThat(result.body()).doesNotContain(INTERNALS);
        assertThat(rowCount()).as("rows in procq.batch + procq.job").isEqualTo(before);
        if (hostile.streamed()) {
            // The answer came while the body was still being sent: the server neither waited for
            // the end nor held what it had read.
            assertThat(result.bodyFinished()).as("client sent the whole body").isFalse();
            assertThat(result.bytesSent()).isLessThan(Math.min(hostile.bodyBytes() / 4, 64L << 20));
            System.out.printf("%s: %d after %,d bytes sent of %s, %d ms%n", hostile.name(), result.status(),
                    result.bytesSent(), hostile.bodyBytes() == Bodies.ENDLESS ? "endless" : String.format("%,d", hostile.bodyBytes()), millis);
        }
    }

    @Test
    void shellSyntaxIsDataAndIsRecordedExactlyAsSent() throws Exception {
        for (String target : SHELL_TEXT) {
            long batch = procq.submit("permissive", List.of(target));
            assertThat(storedTargets(batch)).containsExactly(target);
            Procq.Response text = procq.post("/api/v1/batches?type=permissive", "text/plain", target + "\n", Map.of());
            assertThat(text.status()).as(text.body()).isEqualTo(202);
            assertThat(storedTargets(text.json().get("id").asLong())).containsExactly(target);
        }
    }

    @Test
    void wellFormedUnicodeIsRecordedExactly() {
        List<String> targets = List.of("café", "€ 100", "\uD83D\uDE00.jpg", "\uDBFF\uDFFF", "日本語/ファイル");
        long batch = procq.submit("permissive", targets);
        assertThat(storedTargets(batch)).containsExactlyElementsOf(targets);
    }

    @Test
    void optionLikeTargetIsRecordedForATypeThatAllowsDashes() {
        long batch = procq.submit("dashes", List.of("-o/etc/passwd", "--help"));
        assertThat(storedTargets(batch)).containsExactly("-o/etc/passwd", "--help");
    }

    @Test
    void idempotencyKeyIsBoundNotSpliced() {
        String key = "k'); DELETE FROM procq.job; --";
        Procq.Response response = procq.post("/api/v1/batches", "application/json",
                "{\"type\": \"permissive\", \"targets\": [\"a\"]}", Map.of("Idempotency-Key", key));
        assertThat(response.status()).isEqualTo(202);
        String stored = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT idempotency_key FROM procq.batch WHERE id = :id").bind("id", response.json().get("id").asLong())
                .mapTo(String.class).one());
        assertThat(stored).isEqualTo(key);
        assertThat(rowCount()).isPositive();
    }

    private static int port() {
        return java.net.URI.create(procq.baseUrl()).getPort();
    }

    private static List<String> storedTargets(long batch) {
        return procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT target FROM procq.job WHERE batch_id = :id ORDER BY id").bind("id", batch).mapTo(String.class).list());
    }

    private static long rowCount() {
        return procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT (SELECT count(*) FROM procq.batch) + (SELECT count(*) FROM procq.job)").mapTo(Long.class).one());
    }
}
