package dev.procq.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.procq.api.ApiServer;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.metrics.Metrics;
import dev.procq.schedule.Scheduler;
import dev.procq.webhook.WebhookSender;
import dev.procq.store.Database;
import dev.procq.worker.Worker;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A real procq in the test JVM: the HTTP API on a free port and any number of workers,
 * against the test class's database, with job types given as YAML.
 */
public final class Procq implements AutoCloseable {
    public static final ObjectMapper JSON = new ObjectMapper();
    /** One type, {@code echo}, that takes any target: for tests of the API rather than of what runs. */
    public static final String ECHO_TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
            """;

    private final Database database;
    private final JobTypes types;
    private final Settings settings;
    private final Metrics metrics = new Metrics("test");
    private final List<Worker> workers = new ArrayList<>();
    private final List<Scheduler> schedulers = new ArrayList<>();
    private final List<WebhookSender> senders = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private ApiServer api;
    private OpenApiContract contract;

    public Procq(PostgresExtension postgres, String jobTypesYaml, Map<String, String> env) {
        this(postgres, postgres.database(), jobTypesYaml, env);
    }

    /** The API and workers use {@code database} (e.g. one through a pooler) instead of the class's own. */
    public Procq(PostgresExtension postgres, Database database, String jobTypesYaml, Map<String, String> env) {
        this.database = database;
        this.types = JobTypes.parse(jobTypesYaml, "test job types");
        Map<String, String> all = new HashMap<>();
        all.put("PROCQ_HTTP_PORT", "0");
        all.put("PROCQ_POLL_INTERVAL", "200ms");
        all.putAll(env);
        this.settings = postgres.settings(all);
    }

    public Procq startApi() {
        api = new ApiServer(settings, database, types, metrics).start();
        return this;
    }

    /** This process's scheduler loop, as api, worker and dev processes run it; closed with the harness. */
    public Scheduler startScheduler() {
        schedulers.add(Scheduler.of(database, types, settings, metrics.registry()).start());
        return schedulers.get(schedulers.size() - 1);
    }

    /** A webhook sender with this harness's settings, as every api and worker runs one, polling every 100 ms. */
    public WebhookSender startWebhookSender() {
        senders.add(new WebhookSender(database.jdbi(), settings.webhooks(), "test", metrics.registry())
                .start(Duration.ofMillis(100)));
        return senders.get(senders.size() - 1);
    }

    public Worker startWorker() throws InterruptedException {
        return startWorker(Map.of());
    }

    public Worker startWorker(Map<String, String> env) throws InterruptedException {
        Worker worker = new Worker(database, types, settings.with(env), metrics.registry()).start();
        workers.add(worker);
        return worker;
    }

    /** From now on every answer this harness receives must be one the API's OpenAPI document describes. */
    public Procq checkedAgainst(OpenApiContract contract) {
        this.contract = contract;
        return this;
    }

    public Database database() {
        return database;
    }

    /** The running API, e.g. for its route table. */
    public ApiServer api() {
        return api;
    }

    /** The one registry the API and the workers of this harness report to. */
    public Metrics metrics() {
        return metrics;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + api.port();
    }

    public Response post(String path, String contentType, String body, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl() + path))
                .timeout(Duration.ofSeconds(60))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (contentType != null) request.header("Content-Type", contentType);
        headers.forEach(request::header);
        return send(request.build());
    }

    public Response postJson(String path, String body) {
        return post(path, "application/json", body, Map.of());
    }

    public Response postBytes(String path, String contentType, byte[] body) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    /** Any method with a JSON body, e.g. PATCH. */
    public Response send(String method, String path, String jsonBody) {
        return send(method, path, jsonBody, Map.of());
    }

    public Response send(String method, String path, String jsonBody, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(jsonBody));
        headers.forEach(request::header);
        return send(request.build());
    }

    public Response get(String path) {
        return send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(30)).GET().build());
    }

    public Response get(String path, Map<String, String> headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(30)).GET();
        headers.forEach(request::header);
        return send(request.build());
    }

    private Response send(HttpRequest request) {
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            Response answer = new Response(response.statusCode(), response.body(), response.headers().map());
            if (contract != null) contract.check(request.method(), request.uri().getPath(), answer);
            return answer;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Submits targets of a type and returns the batch id. */
    public long submit(String type, List<String> targets) {
        try {
            Response response = postJson("/api/v1/batches",
                    JSON.writeValueAsString(Map.of("type", type, "targets", targets)));
            if (response.status() != 202) throw new IllegalStateException("submit failed: " + response);
            return response.json().get("id").asLong();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public JsonNode batch(long id) {
        return get("/api/v1/batches/" + id).json();
    }

    @Override
    public void close() throws Exception {
        schedulers.forEach(Scheduler::close);
        senders.forEach(WebhookSender::close);
        for (Worker worker : workers) worker.shutdown(Duration.ofSeconds(5));
        if (api != null) api.close();
    }

    public record Response(int status, String body, Map<String, List<String>> headers) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new IllegalStateException("not JSON: " + body, e);
            }
        }

        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0)).findFirst().orElse(null);
        }
    }
}
