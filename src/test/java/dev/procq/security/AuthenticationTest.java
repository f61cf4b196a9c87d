package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

/**
 * With PROCQ_API_TOKENS set, /api needs "Authorization: Bearer <token>" and nothing else will do;
 * health and metrics stay open; no token ever reaches a log line or a response. Logs are
 * captured at DEBUG for procq and Javalin, and at the shipped levels for everything else.
 */
class AuthenticationTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TOKEN = "tok-" + UUID.randomUUID();
    static final String OTHER_TOKEN = "tok-" + UUID.randomUUID();
    static final String SECRET_TARGET = "secret-target-" + UUID.randomUUID();

    static CapturedLogs logs;
    static Procq procq;
    static final List<RawHttp.Result> responses = new ArrayList<>();

    @BeforeAll
    static void start() {
        // Jetty logs request headers at DEBUG; the shipped logback.xml pins it at WARN, so even
        // PROCQ_LOG_LEVEL=TRACE (which only sets the root level) cannot turn that on.
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        assertThat(context.getLogger("org.eclipse.jetty").getLevel().isGreaterOrEqual(Level.WARN)).isTrue();
        logs = new CapturedLogs(Level.DEBUG, "dev.procq", "io.javalin");
        procq = new Procq(postgres, """
                types:
                  echo:
                    command: ["echo", "{target}"]
                """, Map.of("PROCQ_API_TOKENS", " " + TOKEN + " , " + OTHER_TOKEN + " ")).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
        try {
            // Every request of every test in this class has been made by now.
            assertThat(logs.lines()).anyMatch(line -> line.contains("bearer tokens required for /api"));
            for (String line : logs.lines()) {
                assertThat(line).doesNotContain(TOKEN).doesNotContain(OTHER_TOKEN);
            }
            for (RawHttp.Result response : responses) {
                assertThat(response.body()).doesNotContain(TOKEN).doesNotContain(OTHER_TOKEN);
                assertThat(response.headers().toString()).doesNotContain(TOKEN).doesNotContain(OTHER_TOKEN);
            }
        } finally {
            logs.close();
        }
    }

    static RawHttp.Result call(String method, String path, Map<String, String> headers, String body) {
        Map<String, String> all = new LinkedHashMap<>(headers);
        if (!body.isEmpty()) all.putIfAbsent("Content-Type", "application/json");
        RawHttp.Result result = RawHttp.send(port(), method, path, all, body.getBytes(StandardCharsets.UTF_8));
        synchronized (responses) {
            responses.add(result);
        }
        return result;
    }

    static Map<String, String> bearer(String token) {
        return Map.of("Authorization", "Bearer " + token);
    }

    @Test
    void validTokenIsAcceptedForEveryApiCall() {
        String batch = "{\"type\": \"echo\", \"targets\": [\"" + SECRET_TARGET + "\"]}";
        RawHttp.Result created = call("POST", "/api/v1/batches", bearer(TOKEN), batch);
        assertThat(created.status()).as(created.body()).isEqualTo(202);
        assertThat(call("POST", "/api/v1/batches", bearer(OTHER_TOKEN), batch).status()).isEqualTo(202);
        String location = created.header("Location");
        assertThat(call("GET", location, bearer(TOKEN), "").status()).isEqualTo(200);
        assertThat(call("GET", location + "/jobs", bearer(TOKEN), "").status()).isEqualTo(200);
        assertThat(call("GET", "/api/v1/batches", Map.of("Authorization", "bearer " + TOKEN), "").status()).isEqualTo(200);
        // Authorised but wrong: the usual answers, still without the token.
        assertThat(call("POST", "/api/v1/batches", bearer(TOKEN), "{\"type\": \"nope\", \"targets\": [\"a\"]}").status()).isEqualTo(400);
        assertThat(call("GET", "/api/v1/jobs/999999", bearer(TOKEN), "").status()).isEqualTo(404);
    }

    @Test
    void everyOtherWayOfPresentingATokenIs401() {
        String basic = Base64.getEncoder().encodeToString(("procq:" + TOKEN).getBytes(StandardCharsets.UTF_8));
        Map<String, Map<String, String>> attempts = new LinkedHashMap<>();
        attempts.put("no token", Map.of());
        attempts.put("wrong token", bearer(TOKEN.substring(0, TOKEN.length() - 1) + "x"));
        attempts.put("token plus a suffix", bearer(TOKEN + "x"));
        attempts.put("a prefix of the token", bearer(TOKEN.substring(0, 12)));
        attempts.put("both tokens joined", bearer(TOKEN + "," + OTHER_TOKEN));
        attempts.put("empty bearer", Map.of("Authorization", "Bearer "));
        attempts.put("token without a scheme", Map.of("Authorization", TOKEN));
        attempts.put("Basic with the token as password", Map.of("Authorization", "Basic " + basic));
        attempts.put("X-Token header", Map.of("X-Token", TOKEN));
        attempts.put("X-Api-Key header", Map.of("X-Api-Key", TOKEN));
        attempts.put("Proxy-Authorization", Map.of("Proxy-Authorization", "Bearer " + TOKEN));
        attempts.put("cookie", Map.of("Cookie", "token=" + TOKEN));
        attempts.forEach((name, headers) -> {
            RawHttp.Result list = call("GET", "/api/v1/batches", headers, "");
            assertThat(list.status()).as(name).isEqualTo(401);
            assertThat(list.header("WWW-Authenticate")).as(name).startsWith("Bearer");
            RawHttp.Result submit = call("POST", "/api/v1/batches", headers, "{\"type\": \"echo\", \"targets\": [\"x\"]}");
            assertThat(submit.status()).as(name).isEqualTo(401);
        });
        assertThat(call("GET", "/api/v1/batches?token=" + TOKEN, Map.of(), "").status()).isEqualTo(401);
        assertThat(call("GET", "/api/v1/batches?access_token=" + TOKEN, Map.of(), "").status()).isEqualTo(401);
        assertThat(call("POST", "/api/v1/batches?type=echo&token=" + TOKEN, Map.of("Content-Type", "text/plain"), "x\n").status())
                .isEqualTo(401);
        assertThat(call("POST", "/api/v1/batches/1/cancel", Map.of(), "").status()).isEqualTo(401);
        assertThat(call("POST", "/api/v1/batches/1/retry", Map.of(), "").status()).isEqualTo(401);
        assertThat(call("GET", "/api/v1/jobs/1", Map.of(), "").status()).isEqualTo(401);
    }

    @Test
    void withTokensTheCallerNeedNotBeLocal() {
        // A browser never adds a bearer token on its own, so Host and Origin no longer matter.
        Map<String, String> headers = new LinkedHashMap<>(bearer(TOKEN));
        headers.put("Host", "procq.example.org");
        headers.put("Origin", "https://dashboard.example.org");
        RawHttp.Result result = call("POST", "/api/v1/batches", headers, "{\"type\": \"echo\", \"targets\": [\"remote\"]}");
        assertThat(result.status()).as(result.body()).isEqualTo(202);
    }

    @Test
    void noSpellingOfAnApiPathGetsPastTheTokenCheck() {
        List<String> paths = List.of("/api/v1/batches/", "//api/v1/batches", "/api//v1/batches", "/api/v1/./batches",
                "/api/v1/x/../batches", "/%61pi/v1/batches", "/api/v1/batches;x=y", "/api/v1/batches%2F", "/API/v1/batches",
                "/api/v1/batches?", "/./api/v1/batches");
        for (String path : paths) {
            for (String method : List.of("GET", "HEAD", "OPTIONS", "POST")) {
                RawHttp.Result result = call(method, path, Map.of(), method.equals("POST") ? "{\"type\": \"echo\", \"targets\": [\"p\"]}" : "");
                assertThat(result.status()).as(method + " " + path + ": " + result.body()).isGreaterThanOrEqualTo(400);
                assertThat(result.body()).as(method + " " + path).doesNotContain(SECRET_TARGET).doesNotContain("\"items\"");
            }
        }
    }

    @Test
    void healthAndMetricsAnswerWithoutATokenAndHoldNoSecrets() {
        assertThat(call("POST", "/api/v1/batches", bearer(TOKEN), "{\"type\": \"echo\", \"targets\": [\"" + SECRET_TARGET + "\"]}")
                .status()).isEqualTo(202);
        for (String path : List.of("/healthz", "/readyz", "/metrics")) {
            RawHttp.Result open = call("GET", path, Map.of(), "");
            assertThat(open.status()).as(path).isEqualTo(200);
            assertThat(open.body()).as(path).doesNotContain(SECRET_TARGET);
        }
        assertThat(call("GET", "/api/v1/batches", Map.of(), "").status()).isEqualTo(401);
    }

    private static int port() {
        return URI.create(procq.baseUrl()).getPort();
    }
}
