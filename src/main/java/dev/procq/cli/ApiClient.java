package dev.procq.cli;

import dev.procq.config.FailureBudget;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** The procq HTTP API as the CLI uses it: java.net.http, bearer token, errors as {@link ApiException}. */
public final class ApiClient {
    static final ObjectMapper JSON = new ObjectMapper().registerModule(new JavaTimeModule())
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** For everything but submissions, which may stream for as long as the targets take to send. */
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(30);

    private final String base;
    private final Optional<String> token;
    private final HttpClient http;

    public ApiClient(String baseUrl, Optional<String> token) {
        this.base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.token = token;
        // HTTP/1.1: a body of unknown length goes chunked, with no h2c upgrade dance first.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(CONNECT_TIMEOUT).build();
    }

    public String baseUrl() {
        return base;
    }

    /** What POST /api/v1/batches answered. */
    public record Receipt(long id, String type, long total, boolean replayed) {
    }

    /** Targets given on the command line: JSON keeps each exactly, newlines and all. */
    public Receipt submitTargets(String type, List<String> targets, Integer priority, String idempotencyKey,
                                 FailureBudget halt, String webhook) {
        ObjectNode body = JSON.createObjectNode().put("type", type);
        if (priority != null) body.put("priority", priority);
        if (halt != null) body.set("halt", budgetJson(halt));
        if (webhook != null) body.put("webhook", webhook);
        targets.forEach(body.putArray("targets")::add);
        return submit(jsonRequest("/api/v1/batches", body), idempotencyKey);
    }

    /** One target per line, streamed as text/plain from a file or stdin: never held in memory. */
    public Receipt submitLines(String type, BodyPublisher lines, Integer priority, String idempotencyKey,
                               FailureBudget halt, String webhook) {
        String query = "?type=" + URLEncoder.encode(type, StandardCharsets.UTF_8)
                + (priority == null ? "" : "&priority=" + priority)
                + (halt == null ? "" : "&halt=" + URLEncoder.encode(halt.text(), StandardCharsets.UTF_8))
                + (webhook == null ? "" : "&webhook=" + URLEncoder.encode(webhook, StandardCharsets.UTF_8));
        HttpRequest.Builder request = request("/api/v1/batches" + query)
                .header("Content-Type", "text/plain; charset=utf-8")
                // No Expect: 100-continue: Java 17's client hangs when the answer to it is a refusal.
                // The API reads the whole body before it answers instead.
                .POST(lines);
        return submit(request, idempotencyKey);
    }

    /** A directory scan on the server: {"type", "scan": {"root", "glob"}}. */
    public Receipt submitScan(String type, String root, String glob, Integer priority, String idempotencyKey,
                              FailureBudget halt, String webhook) {
        ObjectNode body = scanBody(type, root, glob, priority);
        if (halt != null) body.set("halt", budgetJson(halt));
        if (webhook != null) body.put("webhook", webhook);
        return submit(jsonRequest("/api/v1/batches", body), idempotencyKey);
    }

    /** A failure budget as the API reads it: only the rules it has; {} for none. */
    static ObjectNode budgetJson(FailureBudget budget) {
        ObjectNode json = JSON.createObjectNode();
        if (budget.failed() != null) json.put("failed", budget.failed());
        if (budget.failedPercent() != null) json.put("failedPercent", budget.failedPercent());
        if (budget.after() != null) json.put("after", budget.after());
        if (budget.inARow() != null) json.put("inARow", budget.inARow());
        return json;
    }

    static ObjectNode scanBody(String type, String root, String glob, Integer priority) {
        ObjectNode body = JSON.createObjectNode().put("type", type);
        if (priority != null) body.put("priority", priority);
        body.putObject("scan").put("root", root).put("glob", glob);
        return body;
    }

    public BatchStatus batch(long id) {
        return read(send(request("/api/v1/batches/" + id).timeout(READ_TIMEOUT).GET()), BatchStatus.class);
    }

    /** The raw JSON of a GET, for --json. */
    public String getRaw(String path) {
        return send(request(path).timeout(READ_TIMEOUT).GET());
    }

    public JsonNode getJson(String path) {
        return read(getRaw(path), JsonNode.class);
    }

    public String cancelRaw(long id) {
        return send(request("/api/v1/batches/" + id + "/cancel").timeout(READ_TIMEOUT).POST(BodyPublishers.noBody()));
    }

    public String pauseRaw(long id) {
        return send(request("/api/v1/batches/" + id + "/pause").timeout(READ_TIMEOUT).POST(BodyPublishers.noBody()));
    }

    /** {@code halt} is a fresh failure budget, or null to keep the batch's own. */
    public String resumeRaw(long id, FailureBudget halt) {
        HttpRequest.Builder request = request("/api/v1/batches/" + id + "/resume").timeout(READ_TIMEOUT);
        if (halt == null) return send(request.POST(BodyPublishers.noBody()));
        try {
            return send(request.header("Content-Type", "application/json")
                    .POST(BodyPublishers.ofByteArray(JSON.writeValueAsBytes(JSON.createObjectNode().set("halt", budgetJson(halt))))));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Any method on a path, with a JSON body (null: none); the raw JSON answered (empty for 204). */
    public String sendRaw(String method, String path, JsonNode body) {
        HttpRequest.Builder request = request(path).timeout(READ_TIMEOUT);
        if (body == null) return send(request.method(method, BodyPublishers.noBody()));
        try {
            return send(request.header("Content-Type", "application/json")
                    .method(method, BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body))));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public String retryRaw(long id) {
        return send(request("/api/v1/batches/" + id + "/retry").timeout(READ_TIMEOUT).POST(BodyPublishers.noBody()));
    }

    static <T> T read(String body, Class<T> type) {
        try {
            return JSON.readValue(body, type);
        } catch (IOException e) {
            throw new ApiException(0, "the API answered something that is not the expected JSON: " + abbreviate(body));
        }
    }

    private Receipt submit(HttpRequest.Builder request, String idempotencyKey) {
        if (idempotencyKey != null) request.header("Idempotency-Key", idempotencyKey);
        HttpResponse<String> response = exchange(request.build());
        JsonNode receipt = read(check(response), JsonNode.class);
        return new Receipt(receipt.path("id").asLong(), receipt.path("type").asText(), receipt.path("total").asLong(),
                response.statusCode() == 200);
    }

    private HttpRequest.Builder jsonRequest(String path, JsonNode body) {
        try {
            return request(path).timeout(READ_TIMEOUT).header("Content-Type", "application/json")
                    .POST(BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
        } catch (IOException e) {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).header("Accept", "application/json");
        token.ifPresent(value -> request.header("Authorization", "Bearer " + value));
        return request;
    }

    private String send(HttpRequest.Builder request) {
        return check(exchange(request.build()));
    }

    private HttpResponse<String> exchange(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (java.net.ConnectException e) {
            throw new ApiException(0, "cannot reach " + base + ": connection refused");
        } catch (IOException e) {
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new ApiException(0, "talking to " + base + " failed: " + why);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(0, "interrupted");
        }
    }

    /** The body of a 2xx answer; otherwise the API's error text. */
    private static String check(HttpResponse<String> response) {
        int status = response.statusCode();
        if (status >= 200 && status < 300) return response.body();
        String error = null;
        try {
            JsonNode body = JSON.readTree(response.body());
            if (body != null && body.hasNonNull("error")) error = body.get("error").asText();
        } catch (IOException notJson) {
            // a proxy's HTML page, say: reported by status below
        }
        throw new ApiException(status, error != null ? error : "HTTP " + status + " from the API: " + abbreviate(response.body()));
    }

    private static String abbreviate(String text) {
        String oneLine = text == null ? "" : text.replaceAll("\\s+", " ").trim();
        return oneLine.length() <= 200 ? oneLine : oneLine.substring(0, 200) + "...";
    }
}
