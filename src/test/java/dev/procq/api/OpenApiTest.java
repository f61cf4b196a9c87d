package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.config.ApiToken;
import dev.procq.config.Settings;
import dev.procq.store.Database;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import io.swagger.parser.OpenAPIParser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * GET /openapi.json: the hand-written document lists exactly the routes the server has, with the
 * Access rule each has, parses as OpenAPI 3.1, and every answer of every route (successes and
 * errors, from a real server, database and worker) is one it describes, body checked against its
 * schema. The harness checks each answer as it arrives ({@link Procq#checkedAgainst}).
 */
class OpenApiTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              exit:
                command: ["sh", "-c", "echo out-$1; exit \\"$1\\"", "exit", "{target}"]
                targetPattern: '^[0-9]+$'
                maxAttempts: 1
                exitCodes: {failNow: [3], retry: ["7-9"]}
              keyed:
                command: ["true", "{target}"]
                key: {regex: '^([a-z]+)/'}
                keyConcurrency: 2
                rate: 100
                timeout: 30s
                halt: {failedPercent: 20, after: 50}
              scanned:
                command: ["true", "{target}"]
            """;
    /** A type only the API knows, so that no worker runs its batches while they are steered. */
    static final String HELD = """
              held:
                command: ["true", "{target}"]
            """;
    static final String READ = "r-" + UUID.randomUUID();
    static final String SUBMIT = "s-" + UUID.randomUUID();

    @TempDir
    static Path photos;
    static final OpenApiContract contract = OpenApiContract.load();
    /** Without tokens: every caller is the local admin. */
    static Procq procq;
    /** With scoped tokens, for 401 and 403. */
    static Procq guarded;
    static Procq worker;
    static long scannedBatch;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(photos.resolve("a.jpg"), "not really a jpeg");
        Files.createSymbolicLink(photos.resolve("out.jpg"), Path.of("/etc/hostname"));
        procq = new Procq(postgres, TYPES + HELD, Map.of("PROCQ_MAX_TARGET_LENGTH", "64",
                "PROCQ_SCAN_ROOTS", "photos=" + photos.toRealPath())).checkedAgainst(contract).startApi();
        worker = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_METRICS_PORT", "off"));
        worker.startWorker();
        guarded = new Procq(postgres, TYPES, Map.of("PROCQ_API_TOKENS", "read:reader=" + READ + ",submit:ci=" + SUBMIT))
                .checkedAgainst(contract).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        if (worker != null) worker.close();
        if (guarded != null) guarded.close();
        if (procq != null) procq.close();
    }

    @Test
    void theDocumentIsValidOpenApi31() {
        ParseOptions options = new ParseOptions();
        options.setResolve(true);
        SwaggerParseResult result = new OpenAPIParser().readContents(contract.text(), null, options);
        assertThat(result.getMessages()).as("swagger-parser's complaints").isEmpty();
        assertThat(result.getOpenAPI()).isNotNull();
        assertThat(result.getOpenAPI().getOpenapi()).isEqualTo("3.1.0");
        assertThat(result.getOpenAPI().getComponents().getSecuritySchemes()).containsKey("bearerAuth");
    }

    @Test
    void theDocumentListsEveryRouteOfTheServerAndNoOther() {
        Set<String> served = procq.api().routeRules().stream().map(rule -> rule.method() + " " + rule.path())
                .collect(Collectors.toCollection(TreeSet::new));
        assertThat(contract.operations()).as("operations of openapi.json against the routes of ApiServer.routes")
                .isEqualTo(served);
    }

    @Test
    void eachOperationNamesTheAccessRuleAndScopesOfItsRoute() {
        for (ApiServer.RouteRule rule : procq.api().routeRules()) {
            JsonNode operation = contract.document().get("paths").get(rule.path()).get(rule.method().toLowerCase(Locale.ROOT));
            String where = rule.method() + " " + rule.path();
            assertThat(operation.path("x-procq-access").asText()).as(where).isEqualTo(rule.access().name());
            List<String> scopes = rule.access().scopes().stream().map(ApiToken.Scope::setting).sorted().toList();
            List<String> documented = new ArrayList<>();
            operation.path("x-procq-scopes").forEach(scope -> documented.add(scope.asText()));
            assertThat(documented.stream().sorted().toList()).as(where + " x-procq-scopes").isEqualTo(scopes);
            JsonNode security = operation.path("security");
            if (rule.access() == Access.PUBLIC) {
                assertThat(security.isArray() && security.isEmpty()).as(where + " needs no token").isTrue();
            } else {
                List<String> roles = new ArrayList<>();
                security.get(0).get("bearerAuth").forEach(role -> roles.add(role.asText()));
                assertThat(roles.stream().sorted().toList()).as(where + " security").isEqualTo(scopes);
            }
        }
    }

    @Test
    void theServedDocumentIsTheOneInTheRepository() {
        Procq.Response served = procq.get("/openapi.json");
        assertThat(served.status()).isEqualTo(200);
        assertThat(served.body()).isEqualTo(contract.text());
        // No token needed, even where tokens are required.
        assertThat(guarded.get("/openapi.json").status()).isEqualTo(200);
    }

    @Test
    void anAnswerTheDocumentDoesNotDescribeFails() {
        Map<String, List<String>> json = Map.of("Content-Type", List.of("application/json"));
        long own = procq.submit("held", List.of("z"));
        String batch = "[" + procq.batch(own) + "]";
        // a status the operation does not list
        assertThatThrownBy(() -> contract.check("GET", "/api/v1/batches", new Procq.Response(418, "{}", json)))
                .isInstanceOf(AssertionError.class).hasMessageContaining("not in the document");
        // a field the schema lacks, a missing one, a wrong type, a state that does not exist
        for (String body : List.of("{\"items\": [], \"next\": null, \"extra\": 1}", "{\"items\": []}",
                "{\"items\": [], \"next\": 5}", "{\"items\": " + batch.replaceFirst("\"state\":\"[A-Z]+\"", "\"state\":\"LOST\"")
                        + ", \"next\": null}", "{\"items\": " + batch.replaceFirst("\"createdAt\":\"[^\"]+\"", "\"createdAt\":\"today\"")
                        + ", \"next\": null}")) {
            assertThatThrownBy(() -> contract.check("GET", "/api/v1/batches", new Procq.Response(200, body, json)))
                    .as(body).isInstanceOf(AssertionError.class).hasMessageContaining("does not match");
        }
        // a job without its attempts, where GET /api/v1/jobs/{id} promises them
        String listed = procq.get("/api/v1/batches/" + own + "/jobs").json().get("items").get(0).toString();
        assertThatThrownBy(() -> contract.check("GET", "/api/v1/jobs/1", new Procq.Response(200, listed, json)))
                .isInstanceOf(AssertionError.class).hasMessageContaining("attempts");
        // a header the document requires
        assertThatThrownBy(() -> contract.check("POST", "/api/v1/batches",
                new Procq.Response(202, "{\"id\": 1, \"type\": \"exit\", \"total\": 1}", json)))
                .isInstanceOf(AssertionError.class).hasMessageContaining("Location");
        // a route the document does not have, answered as if it existed
        assertThatThrownBy(() -> contract.check("DELETE", "/api/v1/batches/1", new Procq.Response(200, "{}", json)))
                .isInstanceOf(AssertionError.class).hasMessageContaining("not in the document");
        assertThatThrownBy(() -> contract.check("GET", "/api/v2/batches", new Procq.Response(200, "{}", json)))
                .isInstanceOf(AssertionError.class).hasMessageContaining("not in the document");
    }

    @Test
    void theBodiesTheServerTakesAreTheOnesTheDocumentAccepts() {
        long batch = procq.submit("held", List.of("b"));
        Map<String, List<String>> taken = Map.of(
                "POST /api/v1/batches", List.of("{\"type\": \"held\", \"targets\": [\"a\"]}",
                        "{\"type\": \"held\", \"targets\": [\"a\"], \"priority\": 1000, \"halt\": {}}",
                        "{\"type\": \"held\", \"targets\": [\"a\"], \"halt\": {\"failedPercent\": 12.5, \"after\": 8}}",
                        "{\"type\": \"scanned\", \"scan\": {\"root\": \"photos\", \"glob\": \"**\"}, \"halt\": {\"inARow\": 2}}"),
                "POST /api/v1/batches/{id}/resume", List.of("{}", "{\"halt\": {}}", "{\"halt\": {\"failed\": 3, \"inARow\": 2}}"),
                "PATCH /api/v1/types/{name}", List.of("{\"paused\": false}", "{\"concurrency\": 2, \"rate\": 0.5, \"keyRate\": null}",
                        "{\"exitCodes\": {\"ok\": [0, 1], \"failNow\": [\"64-78\"], \"retryOnSignal\": false}}",
                        "{\"exitCodes\": null, \"globalConcurrency\": null, \"keyConcurrency\": 4}",
                        "{\"halt\": {\"failedPercent\": 10, \"after\": 20}}", "{\"halt\": {}}", "{\"halt\": null, \"paused\": false}"));
        Map<String, List<String>> refused = Map.of(
                "POST /api/v1/batches", List.of("{\"type\": \"held\"}", "{\"targets\": [\"a\"]}",
                        "{\"type\": \"held\", \"targets\": []}",
                        "{\"type\": \"held\", \"targets\": [1]}", "{\"type\": \"held\", \"targets\": [\"a\"], \"colour\": 1}",
                        "{\"type\": \"held\", \"targets\": [\"a\"], \"scan\": {\"root\": \"photos\", \"glob\": \"*\"}}",
                        "{\"type\": \"held\", \"targets\": [\"a\"], \"halt\": {\"failedPercent\": 20}}"),
                "POST /api/v1/batches/{id}/resume", List.of("{\"halt\": 5}", "{\"pause\": true}"),
                "PATCH /api/v1/types/{name}", List.of("{}", "{\"colour\": \"blue\"}", "{\"concurrency\": 0}",
                        "{\"exitCodes\": {\"ok\": [256]}}", "{\"halt\": 5}", "{\"halt\": {\"after\": 20}}",
                        "{\"halt\": {\"failed\": 0}}", "{\"halt\": {\"lost\": 1}}"));
        taken.forEach((operation, bodies) -> bodies.forEach(body -> {
            contract.checkRequest(operation.split(" ")[0], operation.split(" ")[1], body);
            assertThat(send(operation, body, batch).status()).as(operation + " " + body).isBetween(200, 299);
        }));
        refused.forEach((operation, bodies) -> bodies.forEach(body -> {
            assertThatThrownBy(() -> contract.checkRequest(operation.split(" ")[0], operation.split(" ")[1], body))
                    .as(operation + " " + body).isInstanceOf(AssertionError.class);
            assertThat(send(operation, body, batch).status()).as(operation + " " + body).isEqualTo(400);
        }));
    }

    private static Procq.Response send(String operation, String body, long batch) {
        String[] methodAndPath = operation.split(" ");
        return procq.send(methodAndPath[0], methodAndPath[1].replace("{id}", Long.toString(batch)).replace("{name}", "held"), body);
    }

    @Test
    void everyRouteAnswersAsTheDocumentSays() throws Exception {
        service();
        long failed = submissions();
        batchesAndJobs(failed);
        steering();
        types();
        workers();
        schedules();
        tokens();

        // Every operation was seen succeeding at least once, so none of them was checked only by its errors.
        Set<String> succeeded = contract.seen().stream().filter(seen -> seen.matches(".* 2\\d\\d$"))
                .map(seen -> seen.replaceFirst(" \\d+$", "")).collect(Collectors.toCollection(TreeSet::new));
        assertThat(succeeded).isEqualTo(contract.operations());
    }

    @Test
    void whileTheDatabaseIsUnreachableTheAnswersAreTheDocumentedOnes() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        Database nowhere = new Database(new Settings.DatabaseTarget("jdbc:postgresql://127.0.0.1:" + closed + "/procq", "procq", null),
                "nowhere", 1);
        try (Procq down = new Procq(postgres, nowhere, TYPES, Map.of()).checkedAgainst(contract).startApi()) {
            expect(503, down.get("/readyz"));
            expect(503, down.get("/api/v1/batches"));
            expect(200, down.get("/healthz"));
        } finally {
            nowhere.close();
        }
    }

    private static void service() {
        expect(200, procq.get("/healthz"));
        expect(200, procq.get("/readyz"));
        expect(200, procq.get("/metrics"));
        expect(200, procq.get("/openapi.json"));
        expect(404, procq.get("/api/v1/nothing-here"));
        expect(404, procq.send("DELETE", "/api/v1/batches/1", ""));
    }

    /** Every way to submit; returns a finished batch with one FAILED target. */
    private static long submissions() {
        long failed = expect(202, procq.postJson("/api/v1/batches", "{\"type\": \"exit\", \"targets\": [\"0\", \"3\"], "
                + "\"priority\": -5, \"halt\": {\"inARow\": 10}}")).json().get("id").asLong();
        expect(202, procq.post("/api/v1/batches?type=exit&priority=5&halt=failed=2", "text/plain", "0\n0\n", Map.of()));
        expect(202, procq.postJson("/api/v1/batches", "{\"type\": \"keyed\", \"targets\": [\"a/1\", \"b/2\", \"none\"]}"));
        JsonNode scanned = expect(202, procq.postJson("/api/v1/batches",
                "{\"type\": \"scanned\", \"scan\": {\"root\": \"photos\", \"glob\": \"*.jpg\"}}")).json();
        assertThat(scanned.get("scan").get("recorded").asLong()).isEqualTo(1);
        scannedBatch = scanned.get("id").asLong();
        Map<String, String> key = Map.of("Idempotency-Key", "k-" + UUID.randomUUID());
        String once = "{\"type\": \"exit\", \"targets\": [\"0\"]}";
        expect(202, procq.post("/api/v1/batches", "application/json", once, key));
        expect(200, procq.post("/api/v1/batches", "application/json", once, key));

        expect(400, procq.postJson("/api/v1/batches", "{\"type\": \"nope\", \"targets\": [\"0\"]}"));
        expect(400, procq.postJson("/api/v1/batches", "{\"type\": \"exit\", \"targets\": [\"-rf\"]}"));
        expect(400, procq.postJson("/api/v1/batches", "{\"type\": \"exit\", \"type\": \"exit\", \"targets\": []}"));
        expect(400, procq.post("/api/v1/batches", "text/plain", "0\n", Map.of()));
        expect(413, procq.postJson("/api/v1/batches", "{\"type\": \"exit\", \"targets\": [\"" + "1".repeat(65) + "\"]}"));
        expect(415, procq.post("/api/v1/batches", "application/xml", "<batch/>", Map.of()));

        await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(failed).get("state").asText().equals("DONE"));
        return failed;
    }

    private static void batchesAndJobs(long failed) {
        JsonNode page = expect(200, procq.get("/api/v1/batches?limit=2")).json();
        expect(200, procq.get(page.get("next").asText()));
        expect(400, procq.get("/api/v1/batches?limit=0"));
        expect(400, procq.get("/api/v1/batches?before=soon"));

        expect(200, procq.get("/api/v1/batches/" + failed));
        expect(404, procq.get("/api/v1/batches/999999999"));
        expect(400, procq.get("/api/v1/batches/first"));

        JsonNode jobs = expect(200, procq.get("/api/v1/batches/" + failed + "/jobs?state=failed&limit=1")).json();
        expect(200, procq.get("/api/v1/batches/" + failed + "/jobs?after=0"));
        expect(400, procq.get("/api/v1/batches/" + failed + "/jobs?state=ASLEEP"));
        expect(404, procq.get("/api/v1/batches/999999999/jobs"));
        // The search by target prefix, paged with the prefix kept in next; a control character is refused.
        JsonNode found = expect(200, procq.get("/api/v1/batches/" + failed + "/jobs?target=0&limit=1")).json();
        assertThat(found.get("items").get(0).get("target").asText()).isEqualTo("0");
        assertThat(found.get("next").asText()).contains("&target=0&");
        expect(200, procq.get(found.get("next").asText()));
        expect(400, procq.get("/api/v1/batches/" + failed + "/jobs?target=0%0A"));
        expect(400, procq.get("/api/v1/batches/" + failed + "/jobs?target=" + "0".repeat(257)));

        // Throughput: the batch's last hour and the whole queue's.
        JsonNode hour = expect(200, procq.get("/api/v1/batches/" + failed + "/throughput")).json();
        assertThat(hour.get("ok").asLong() + hour.get("failed").asLong()).as("the batch's two ended jobs").isEqualTo(2);
        expect(404, procq.get("/api/v1/batches/999999999/throughput"));
        expect(400, procq.get("/api/v1/batches/soon/throughput"));
        JsonNode webhooks = expect(200, procq.get("/api/v1/batches/" + failed + "/webhooks")).json();
        assertThat(webhooks.get("deliveries").size()).isZero();
        expect(404, procq.get("/api/v1/batches/999999999/webhooks"));
        expect(400, procq.get("/api/v1/batches/soon/webhooks"));
        assertThat(expect(200, procq.get("/api/v1/throughput")).json().get("buckets").size()).isEqualTo(60);

        long job = jobs.get("items").get(0).get("id").asLong();
        JsonNode shown = expect(200, procq.get("/api/v1/jobs/" + job)).json();
        assertThat(shown.get("attempts").get(0).get("decidedBy").asText()).isEqualTo("failNow: exit 3");
        expect(404, procq.get("/api/v1/jobs/999999999"));
        expect(400, procq.get("/api/v1/jobs/-1"));

        // A scanned job carries the file's facts in meta.
        long scannedJob = procq.get("/api/v1/batches/" + scannedBatch + "/jobs").json().get("items").get(0).get("id").asLong();
        assertThat(expect(200, procq.get("/api/v1/jobs/" + scannedJob)).json().get("meta").isObject()).isTrue();
    }

    private static void steering() {
        long batch = procq.submit("held", List.of("x"));
        expect(200, procq.postJson("/api/v1/batches/" + batch + "/pause", ""));
        expect(200, procq.postJson("/api/v1/batches/" + batch + "/resume", "{\"halt\": {\"failed\": 5}}"));
        expect(400, procq.postJson("/api/v1/batches/" + batch + "/resume", "{\"halt\": 5}"));
        expect(200, procq.postJson("/api/v1/batches/" + batch + "/resume", ""));
        long cancelled = procq.submit("held", List.of("y"));
        expect(200, procq.postJson("/api/v1/batches/" + cancelled + "/pause", ""));
        expect(200, procq.postJson("/api/v1/batches/" + cancelled + "/cancel", ""));
        expect(409, procq.postJson("/api/v1/batches/" + cancelled + "/pause", ""));
        expect(409, procq.postJson("/api/v1/batches/" + cancelled + "/resume", ""));
        expect(200, procq.postJson("/api/v1/batches/" + cancelled + "/retry", ""));
        expect(404, procq.postJson("/api/v1/batches/999999999/cancel", ""));
        expect(404, procq.postJson("/api/v1/batches/999999999/retry", ""));
        expect(400, procq.postJson("/api/v1/batches/x/retry", ""));
    }

    private static void types() {
        expect(200, procq.get("/api/v1/types"));
        expect(200, procq.send("PATCH", "/api/v1/types/exit", "{\"concurrency\": 3, \"paused\": false}"));
        expect(200, procq.send("PATCH", "/api/v1/types/exit", "{\"exitCodes\": {\"failNow\": [3, \"10-12\"], \"retry\": [7]}}"));
        expect(200, procq.send("PATCH", "/api/v1/types/keyed", "{\"globalConcurrency\": 10, \"keyRate\": 0.5, \"rate\": null}"));
        expect(200, procq.get("/api/v1/types"));
        expect(200, procq.send("PATCH", "/api/v1/types/exit", "{\"exitCodes\": null}"));
        expect(400, procq.send("PATCH", "/api/v1/types/exit", "{\"colour\": \"blue\"}"));
        expect(400, procq.send("PATCH", "/api/v1/types/exit", "{}"));
        expect(404, procq.send("PATCH", "/api/v1/types/nope", "{\"paused\": true}"));
        // The default failure budget of new batches, set and cleared.
        JsonNode halted = expect(200, procq.send("PATCH", "/api/v1/types/exit", "{\"halt\": {\"failed\": 50}}")).json();
        assertThat(halted.get("halt").get("failed").asLong()).isEqualTo(50);
        expect(400, procq.send("PATCH", "/api/v1/types/exit", "{\"halt\": {\"failedPercent\": 20}}"));
        expect(200, procq.send("PATCH", "/api/v1/types/exit", "{\"halt\": null}"));
    }

    private static void schedules() {
        String body = "{\"name\": \"contract\", \"cron\": \"0 0 3 * * *\", \"timeZone\": \"Europe/Berlin\", "
                + "\"overlap\": \"queue-one\", \"catchUp\": \"run-once\", \"batch\": {\"type\": \"held\", \"targets\": [\"a\"]}}";
        contract.checkRequest("POST", "/api/v1/schedules", body);
        long id = expect(201, procq.postJson("/api/v1/schedules", body)).json().get("id").asLong();
        expect(409, procq.postJson("/api/v1/schedules", body));
        expect(400, procq.postJson("/api/v1/schedules", "{\"name\": \"x\", \"cron\": \"soon\", \"batch\": {\"type\": \"held\", \"targets\": [\"a\"]}}"));
        expect(400, procq.postJson("/api/v1/schedules", "{\"name\": \"x\", \"cron\": \"* * * * *\", \"batch\": {\"type\": \"nope\", \"targets\": [\"a\"]}}"));
        expect(200, procq.get("/api/v1/schedules"));
        expect(200, procq.get("/api/v1/schedules/" + id));
        expect(200, procq.get("/api/v1/schedules/contract"));
        expect(404, procq.get("/api/v1/schedules/999999999"));
        String change = "{\"paused\": true, \"batch\": {\"type\": \"scanned\", \"scan\": {\"root\": \"photos\", \"glob\": \"*.jpg\"}}}";
        contract.checkRequest("PATCH", "/api/v1/schedules/{id}", change);
        expect(200, procq.send("PATCH", "/api/v1/schedules/" + id, change));
        expect(400, procq.send("PATCH", "/api/v1/schedules/" + id, "{\"overlap\": \"never\"}"));
        expect(404, procq.send("PATCH", "/api/v1/schedules/nothing", "{\"paused\": true}"));
        expect(204, procq.send("DELETE", "/api/v1/schedules/" + id, ""));
        expect(404, procq.send("DELETE", "/api/v1/schedules/" + id, ""));
    }

    private static void workers() {
        JsonNode runs = expect(200, procq.get("/api/v1/workers")).json();
        assertThat(runs.size()).as("the test's worker is listed").isPositive();
    }

    private static void tokens() {
        expect(401, guarded.get("/api/v1/batches"));
        expect(401, guarded.get("/api/v1/types", Map.of("Authorization", "Bearer wrong")));
        Map<String, String> reader = Map.of("Authorization", "Bearer " + READ);
        Map<String, String> submitter = Map.of("Authorization", "Bearer " + SUBMIT);
        expect(403, guarded.post("/api/v1/batches", "application/json", "{\"type\": \"exit\", \"targets\": [\"0\"]}", reader));
        expect(403, guarded.send("PATCH", "/api/v1/types/exit", "{\"paused\": false}", submitter));
        expect(200, guarded.get("/api/v1/batches", submitter));
        expect(401, guarded.get("/api/v1/workers"));
        expect(200, guarded.get("/api/v1/workers", reader));
        expect(401, guarded.get("/api/v1/throughput"));
        expect(200, guarded.get("/api/v1/throughput", submitter));
    }

    private static Procq.Response expect(int status, Procq.Response response) {
        assertThat(response.status()).as(response.body()).isEqualTo(status);
        return response;
    }
}
