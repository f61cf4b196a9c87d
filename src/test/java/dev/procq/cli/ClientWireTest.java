package dev.procq.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What procq submit puts on the wire, seen by a plain HTTP server that records each request:
 * the scan body (whose server side lives elsewhere), streaming, headers and the token.
 */
class ClientWireTest {
    record Request(String method, String uri, Map<String, List<String>> headers, byte[] body) {
        String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0)).findFirst().orElse(null);
        }

        JsonNode json() throws IOException {
            return ApiClient.JSON.readTree(body);
        }
    }

    private final List<Request> requests = new CopyOnWriteArrayList<>();
    private HttpServer server;

    @TempDir
    Path temp;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            requests.add(new Request(exchange.getRequestMethod(), exchange.getRequestURI().toString(),
                    Map.copyOf(exchange.getRequestHeaders()), body));
            byte[] answer = "{\"id\": 7, \"type\": \"photos\", \"total\": 3}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            exchange.sendResponseHeaders(202, answer.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(answer);
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private CliRun.Builder cli() {
        return CliRun.with(Map.of("PROCQ_URL", "http://127.0.0.1:" + server.getAddress().getPort(), "PROCQ_TOKEN", "tok"));
    }

    @Test
    void scanIsSentAsAJsonScanRequest() throws IOException {
        CliRun run = cli().run("submit", "--type", "photos", "--scan", "photos:**/*.jpg", "--priority", "5",
                "--idempotency-key", "nightly-2024-06-01");

        assertThat(run.exit()).as(run.toString()).isZero();
        assertThat(run.out()).isEqualTo("7\n");
        Request request = requests.get(0);
        assertThat(request.method()).isEqualTo("POST");
        assertThat(request.uri()).isEqualTo("/api/v1/batches");
        assertThat(request.header("Content-Type")).isEqualTo("application/json");
        assertThat(request.header("Idempotency-Key")).isEqualTo("nightly-2024-06-01");
        assertThat(request.header("Authorization")).isEqualTo("Bearer tok");
        assertThat(request.json()).isEqualTo(ApiClient.JSON.readTree(
                "{\"type\": \"photos\", \"priority\": 5, \"scan\": {\"root\": \"photos\", \"glob\": \"**/*.jpg\"}}"));
    }

    @Test
    void aScanGlobMayItselfContainColons() throws IOException {
        CliRun run = cli().run("submit", "--type", "logs", "--scan", "logs:2024-06-01T*:00.log");

        assertThat(run.exit()).as(run.toString()).isZero();
        JsonNode scan = requests.get(0).json().get("scan");
        assertThat(scan.get("root").asText()).isEqualTo("logs");
        assertThat(scan.get("glob").asText()).isEqualTo("2024-06-01T*:00.log");
    }

    @Test
    void stdinIsStreamedChunkedAsTextPlain() {
        CliRun run = cli().stdin("a.jpg\nb c.jpg\n").run("submit", "--type", "thumb nail", "--priority", "-3");

        assertThat(run.exit()).as(run.toString()).isZero();
        Request request = requests.get(0);
        assertThat(request.uri()).isEqualTo("/api/v1/batches?type=thumb+nail&priority=-3");
        assertThat(request.header("Content-Type")).isEqualTo("text/plain; charset=utf-8");
        // chunked: the client never learns the length, so it never holds the whole body
        assertThat(request.header("Transfer-Encoding")).isEqualTo("chunked");
        assertThat(request.header("Content-Length")).isNull();
        assertThat(new String(request.body(), StandardCharsets.UTF_8)).isEqualTo("a.jpg\nb c.jpg\n");
    }

    @Test
    void aFileIsSentFromDiskAsTextPlain() throws IOException {
        Path file = temp.resolve("targets.txt");
        Files.writeString(file, "one\ntwo\nthree\n");

        CliRun run = cli().run("submit", "--type", "photos", "-f", file.toString());

        assertThat(run.exit()).as(run.toString()).isZero();
        Request request = requests.get(0);
        assertThat(request.header("Content-Length")).isEqualTo("14");
        assertThat(new String(request.body(), StandardCharsets.UTF_8)).isEqualTo("one\ntwo\nthree\n");
    }

    @Test
    void argumentsAreSentAsJsonExactlyAsGiven() throws IOException {
        CliRun run = cli().run("submit", "--type", "photos", "--", " spaced ", "two\nlines", "-dash");

        assertThat(run.exit()).as(run.toString()).isZero();
        assertThat(requests.get(0).json().get("targets")).isEqualTo(ApiClient.JSON.readTree(
                "[\" spaced \", \"two\\nlines\", \"-dash\"]"));
    }
}
