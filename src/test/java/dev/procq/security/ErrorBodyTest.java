package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Real server-side failures, caused by changing this test class's own database under the API:
 * the client gets "internal error" and an incident id, never a stack trace, SQL or a database
 * message; the operator's log has the id next to the whole exception.
 */
class ErrorBodyTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final List<String> INTERNALS = List.of("Exception", "\tat ", "at dev.", "at org.", "at java.", "SELECT", "INSERT",
            "COPY", "procq.", "job_attempt", "violates", "constraint", "postgres", "jdbi", "jetty", "javalin", "SQL");

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, """
                types:
                  echo:
                    command: ["echo", "{target}"]
                """, Map.of()).checkedAgainst(OpenApiContract.load()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void failingQueryAnswers500WithAnIncidentIdAndNoSql() {
        long batch = procq.submit("echo", List.of("a"));
        long job = procq.get("/api/v1/batches/" + batch + "/jobs").json().get("items").get(0).get("id").asLong();
        try (CapturedLogs logs = new CapturedLogs(Level.INFO)) {
            alter("ALTER TABLE procq.job_attempt RENAME TO job_attempt_moved");
            Procq.Response response;
            try {
                response = procq.get("/api/v1/jobs/" + job);
            } finally {
                alter("ALTER TABLE procq.job_attempt_moved RENAME TO job_attempt");
            }
            assertThat(response.status()).isEqualTo(500);
            String incident = assertInternalError(response.body());
            assertThat(logs.lines()).anyMatch(line -> line.contains(incident) && line.contains("job_attempt")
                    && line.contains("GET /api/v1/jobs/" + job));
        }
        assertThat(procq.get("/api/v1/jobs/" + job).status()).isEqualTo(200);
    }

    @Test
    void failingCopyAnswers500RecordsNothingAndEchoesNothing() {
        long before = rowCount();
        alter("ALTER TABLE procq.job ADD CONSTRAINT no_boom CHECK (target <> 'boom-target') NOT VALID");
        Procq.Response response;
        try {
            response = procq.postJson("/api/v1/batches", "{\"type\": \"echo\", \"targets\": [\"fine\", \"boom-target\"]}");
        } finally {
            alter("ALTER TABLE procq.job DROP CONSTRAINT no_boom");
        }
        assertThat(response.status()).isEqualTo(500);
        assertInternalError(response.body());
        assertThat(response.body()).doesNotContain("boom");
        assertThat(rowCount()).isEqualTo(before);
    }

    @Test
    void malformedHttpIsAnsweredWithoutInternals() {
        int port = URI.create(procq.baseUrl()).getPort();
        /** jetty: refused by Jetty before any route, with its own HTML page (which escapes what it repeats). */
        record Probe(String method, String path, Map<String, String> headers, String body, int status, boolean jetty) {
        }
        List<Probe> probes = List.of(
                new Probe("GET", "/api/v1/batches/%zz", Map.of(), "", 400, true),
                new Probe("GET", "/<script>alert(1)</script>", Map.of(), "", 400, true),
                new Probe("GET", "/api/v1/batches", Map.of("X-Big", "b".repeat(64 * 1024)), "", 431, true),
                new Probe("GET", "/api/v1/batches/" + "9".repeat(40), Map.of(), "", 400, false),
                new Probe("GET", "/api/v1/batches?limit=" + "9".repeat(40), Map.of(), "", 400, false),
                new Probe("GET", "/api/v1/batches/%2e%2e/%2e%2e/etc/passwd", Map.of(), "", 404, false),
                new Probe("GET", "/%3Cscript%3Ealert(1)%3C/script%3E", Map.of(), "", 404, false),
                new Probe("DELETE", "/api/v1/batches/1", Map.of(), "", 404, false),
                new Probe("GET", "/no/such/page", Map.of(), "", 404, false),
                new Probe("POST", "/api/v1/batches", Map.of("Content-Type", "application/json"),
                        "{\"type\": \"echo\", \"targets\": [\"a\"], \"priority\": 1.5}", 400, false));
        for (Probe probe : probes) {
            RawHttp.Result answer = RawHttp.send(port, probe.method(), probe.path(), probe.headers(),
                    probe.body().getBytes(StandardCharsets.UTF_8));
            String what = probe.method() + " " + probe.path().substring(0, Math.min(60, probe.path().length()));
            assertThat(answer.status()).as(what + ": " + answer.body()).isEqualTo(probe.status());
            assertThat(answer.body()).as(what).doesNotContain("Exception", "\tat ", "at org.", "at java.", "at dev.",
                    "Caused by", "<script>");
            if (!probe.jetty()) {
                // everything past Jetty's own URI and header checks is answered in the API's error shape
                assertThat(answer.header("Content-Type")).as(what).startsWith("application/json");
                assertThat(parse(answer.body()).get("error").asText()).as(what).isNotBlank();
            }
        }
    }

    @Test
    void bodiesPastTheRequestLimitAre413InTheApisShapeAndChangeNothing() {
        long batch = procq.submit("echo", List.of("a"));
        assertThat(procq.postJson("/api/v1/batches/" + batch + "/pause", "").status()).isEqualTo(200);
        assertThat(procq.send("PATCH", "/api/v1/types/echo", "{\"concurrency\": 2}").status()).isEqualTo(200);
        String big = "{\"concurrency\": 3, \"pad\": \"" + "x".repeat(1_100_000) + "\"}";
        for (Procq.Response response : List.of(procq.send("PATCH", "/api/v1/types/echo", big),
                procq.postJson("/api/v1/batches/" + batch + "/resume", big))) {
            assertThat(response.status()).isEqualTo(413);
            assertThat(response.header("Content-Type")).startsWith("application/json");
            assertThat(parse(response.body()).get("error").asText()).isNotBlank();
        }
        assertThat(procq.get("/api/v1/batches/" + batch).json().get("state").asText()).isEqualTo("PAUSED");
        int concurrency = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT concurrency FROM procq.job_type WHERE name = 'echo'").mapTo(Integer.class).one());
        assertThat(concurrency).isEqualTo(2);
    }

    private static String assertInternalError(String body) {
        assertThat(body).doesNotContain(INTERNALS);
        JsonNode error = Procq.JSON.valueToTree(parse(body));
        assertThat(error.get("error").asText()).isEqualTo("internal error");
        String incident = error.get("detail").get("incident").asText();
        assertThat(incident).matches("[0-9a-f-]{36}");
        return incident;
    }

    private static JsonNode parse(String body) {
        try {
            return Procq.JSON.readTree(body);
        } catch (java.io.IOException e) {
            throw new AssertionError("not JSON: " + body, e);
        }
    }

    private static void alter(String ddl) {
        procq.database().jdbi().useHandle(h -> h.execute(ddl));
    }

    private static long rowCount() {
        return procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT (SELECT count(*) FROM procq.batch) + (SELECT count(*) FROM procq.job)").mapTo(Long.class).one());
    }
}
