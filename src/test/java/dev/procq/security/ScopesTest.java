package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.api.Access;
import dev.procq.api.ApiServer;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Token scopes, route by route, over real HTTP: every route of the server is in {@link #ROUTES}
 * with what each kind of caller gets, and a route the server has but the table (or the server's
 * own {@link Access} rule) lacks fails {@link #everyRouteHasAnAccessRuleAndARowHere}. A submit
 * token sees and steers only the batches it submitted; another's are 404, as if they did not exist.
 */
class ScopesTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String READ = "r-" + UUID.randomUUID();
    static final String ALICE = "a-" + UUID.randomUUID();
    static final String BOB = "b-" + UUID.randomUUID();
    static final String ADMIN = "x-" + UUID.randomUUID();
    /** A token as written before scopes: admin, with a SHA-256 prefix for its id. */
    static final String BARE = "bare-" + UUID.randomUUID();

    static Procq procq;
    static long aliceBatch;
    static long aliceJob;
    static long bobBatch;
    static long bobJob;

    /** Who calls: no token, or a token of each scope; "submit, another's" is Bob calling on Alice's batch. */
    enum As { NONE, READ, SUBMIT_OWN, SUBMIT_OTHERS, ADMIN }

    /** One route, how to call it, and the status each caller gets (in the order of {@link As}). */
    record Row(String method, String path, String body, int none, int read, int submitOwn, int submitOthers, int admin) {
        String key() {
            return method + " " + path;
        }

        int expected(As as) {
            return switch (as) {
                case NONE -> none;
                case READ -> read;
                case SUBMIT_OWN -> submitOwn;
                case SUBMIT_OTHERS -> submitOthers;
                case ADMIN -> admin;
            };
        }
    }

    static final String SUBMISSION = "{\"type\": \"echo\", \"targets\": [\"t\"]}";
    static final String SCHEDULE = "{\"name\": \"alice-schedule\", \"cron\": \"0 0 3 * * *\", \"batch\": " + SUBMISSION + "}";

    /** The whole access table. A new route gets one row here and one Access in ApiServer.routes. */
    static final List<Row> ROUTES = List.of(
            //      method   path                              body                   none read own  other's admin
            new Row("POST", "/api/v1/batches", SUBMISSION, 401, 403, 202, 202, 202),
            new Row("GET", "/api/v1/batches", "", 401, 200, 200, 200, 200),
            new Row("GET", "/api/v1/batches/{id}", "", 401, 200, 200, 404, 200),
            new Row("GET", "/api/v1/batches/{id}/jobs", "", 401, 200, 200, 404, 200),
            new Row("GET", "/api/v1/batches/{id}/throughput", "", 401, 200, 200, 404, 200),
            new Row("GET", "/api/v1/batches/{id}/webhooks", "", 401, 200, 200, 404, 200),
            new Row("GET", "/api/v1/throughput", "", 401, 200, 200, 200, 200),
            new Row("POST", "/api/v1/batches/{id}/pause", "", 401, 403, 200, 404, 200),
            new Row("POST", "/api/v1/batches/{id}/resume", "", 401, 403, 200, 404, 200),
            new Row("POST", "/api/v1/batches/{id}/cancel", "", 401, 403, 200, 404, 200),
            new Row("POST", "/api/v1/batches/{id}/retry", "", 401, 403, 200, 404, 200),
            new Row("GET", "/api/v1/jobs/{id}", "", 401, 200, 200, 404, 200),
            new Row("GET", "/api/v1/types", "", 401, 200, 200, 200, 200),
            new Row("PATCH", "/api/v1/types/{name}", "{\"paused\": false}", 401, 403, 403, 403, 200),
            new Row("GET", "/api/v1/workers", "", 401, 200, 200, 200, 200),
            // Alice's schedule: a second of that name is 409 to whoever may create one at all
            new Row("POST", "/api/v1/schedules", SCHEDULE, 401, 403, 409, 409, 409),
            new Row("GET", "/api/v1/schedules", "", 401, 200, 200, 200, 200),
            new Row("GET", "/api/v1/schedules/{id}", "", 401, 200, 200, 404, 200),
            new Row("PATCH", "/api/v1/schedules/{id}", "{\"paused\": true}", 401, 403, 200, 404, 200),
            // last of the schedule's rows: Alice deletes it, and then it is gone for Bob and the admin too
            new Row("DELETE", "/api/v1/schedules/{id}", "", 401, 403, 204, 404, 404),
            new Row("GET", "/healthz", "", 200, 200, 200, 200, 200),
            new Row("GET", "/readyz", "", 200, 200, 200, 200, 200),
            new Row("GET", "/metrics", "", 200, 200, 200, 200, 200),
            new Row("GET", "/openapi.json", "", 200, 200, 200, 200, 200));

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, """
                types:
                  echo:
                    command: ["echo", "{target}"]
                """, Map.of("PROCQ_API_TOKENS", "read:reader=" + READ + ", submit:alice=" + ALICE + ",submit:bob=" + BOB
                + ", admin:boss=" + ADMIN + ", " + BARE)).startApi();
        aliceBatch = submit(ALICE, "alice-secret-target");
        assertThat(call("POST", "/api/v1/schedules", ALICE, SCHEDULE).status()).isEqualTo(201);
        bobBatch = submit(BOB, "bob-secret-target");
        aliceJob = firstJob(aliceBatch);
        bobJob = firstJob(bobBatch);
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void everyRouteHasAnAccessRuleAndARowHere() {
        List<ApiServer.RouteRule> rules = procq.api().routeRules();
        assertThat(rules).as("the server's routes").isNotEmpty();
        assertThat(rules.stream().filter(rule -> rule.access() == null).map(rule -> rule.method() + " " + rule.path()))
                .as("routes listed in ApiServer.routes without an Access (give each one, e.g. Access.STEER)").isEmpty();
        Set<String> served = rules.stream().map(rule -> rule.method() + " " + rule.path()).collect(Collectors.toCollection(TreeSet::new));
        Set<String> tabled = ROUTES.stream().map(Row::key).collect(Collectors.toCollection(TreeSet::new));
        assertThat(tabled).as("ScopesTest.ROUTES must have one row per route the server answers").isEqualTo(served);
        // The table and the server's rules agree on who may call at all.
        for (ApiServer.RouteRule rule : rules) {
            Row row = ROUTES.stream().filter(r -> r.key().equals(rule.method() + " " + rule.path())).findFirst().orElseThrow();
            assertThat(row.none() < 400).as(row.key() + " without a token").isEqualTo(rule.access() == Access.PUBLIC);
        }
    }

    @Test
    void eachScopeGetsExactlyWhatTheTableSays() {
        List<String> wrong = new ArrayList<>();
        for (Row row : ROUTES) {
            for (As as : As.values()) {
                RawHttp.Result result = call(row, as);
                if (result.status() != row.expected(as)) {
                    wrong.add(row.key() + " as " + as + ": " + result.status() + " (expected " + row.expected(as) + ") " + result.body());
                }
                if (result.status() >= 400) {
                    JsonNode error = json(result);
                    assertThat(error.has("error") && error.has("detail")).as(row.key() + " as " + as + ": " + result.body()).isTrue();
                }
                if (result.status() == 401) assertThat(result.header("WWW-Authenticate")).startsWith("Bearer");
            }
        }
        assertThat(wrong).isEmpty();
    }

    @Test
    void aWrongScopeIs403NamingTheScopeNeeded() {
        RawHttp.Result result = call("POST", "/api/v1/batches", READ, SUBMISSION);
        assertThat(result.status()).isEqualTo(403);
        JsonNode body = json(result);
        assertThat(body.get("error").asText()).contains("scope (read)").contains("needs submit or admin");
        assertThat(body.get("detail").get("scope").asText()).isEqualTo("read");
        assertThat(body.get("detail").get("needs").toString()).isEqualTo("[\"submit\",\"admin\"]");
        assertThat(nothingRecordedBy("reader")).isTrue();
    }

    @Test
    void aSubmitTokenNeverSeesAnotherSubmitTokensBatch() {
        // Listing: Alice's own batches only, every page.
        List<Long> aliceSees = listed(ALICE);
        assertThat(aliceSees).contains(aliceBatch).doesNotContain(bobBatch);
        assertThat(listed(BOB)).contains(bobBatch).doesNotContain(aliceBatch);
        assertThat(listed(ADMIN)).contains(aliceBatch, bobBatch);
        assertThat(listed(READ)).contains(aliceBatch, bobBatch);

        // Reading and steering Bob's batch as Alice: 404, word for word what a batch that does not exist gets.
        RawHttp.Result missing = call("GET", "/api/v1/batches/999999999", ALICE, "");
        for (String path : List.of("/api/v1/batches/" + bobBatch, "/api/v1/batches/" + bobBatch + "/jobs",
                "/api/v1/jobs/" + bobJob)) {
            RawHttp.Result result = call("GET", path, ALICE, "");
            assertThat(result.status()).as(path).isEqualTo(404);
            assertThat(result.body()).as(path).doesNotContain("bob-secret-target").doesNotContain("bob");
        }
        assertThat(call("GET", "/api/v1/batches/" + bobBatch, ALICE, "").body())
                .isEqualTo(missing.body().replace("999999999", Long.toString(bobBatch)));
        assertThat(call("POST", "/api/v1/batches/" + bobBatch + "/cancel", ALICE, "").status()).isEqualTo(404);
        assertThat(call("POST", "/api/v1/batches/" + bobBatch + "/retry", ALICE, "").status()).isEqualTo(404);
        // ... and Bob's batch was left alone.
        long pending = postgres.database().jdbi().withHandle(handle -> handle.createQuery(
                "SELECT count(*) FROM procq.job WHERE batch_id = :id AND state = 'PENDING'").bind("id", bobBatch).mapTo(Long.class).one());
        boolean cancelRequested = postgres.database().jdbi().withHandle(handle -> handle.createQuery(
                "SELECT cancel_requested FROM procq.batch WHERE id = :id").bind("id", bobBatch).mapTo(Boolean.class).one());
        assertThat(pending).isEqualTo(1);
        assertThat(cancelRequested).isFalse();
    }

    @Test
    void anIdempotencyKeyBelongsToTheTokenThatSentIt() {
        Map<String, String> key = Map.of("Idempotency-Key", "nightly-" + UUID.randomUUID());
        RawHttp.Result first = call("POST", "/api/v1/batches", ALICE, SUBMISSION, key);
        RawHttp.Result again = call("POST", "/api/v1/batches", ALICE, SUBMISSION, key);
        RawHttp.Result bobs = call("POST", "/api/v1/batches", BOB, SUBMISSION, key);
        assertThat(first.status()).isEqualTo(202);
        assertThat(again.status()).isEqualTo(200);
        assertThat(json(again).get("id").asLong()).isEqualTo(json(first).get("id").asLong());
        // Bob's key is his own: a batch of his, not a look at Alice's.
        assertThat(bobs.status()).isEqualTo(202);
        assertThat(json(bobs).get("id").asLong()).isNotEqualTo(json(first).get("id").asLong());
    }

    @Test
    void aBatchRecordsItsTokensIdNeverTheToken() {
        long bare = submit(BARE, "bare");
        long admins = submit(ADMIN, "admins");
        Map<Long, String> owners = new LinkedHashMap<>();
        postgres.database().jdbi().useHandle(handle -> handle.createQuery("SELECT id, owner FROM procq.batch ORDER BY id")
                .map((rs, ctx) -> Map.entry(rs.getLong(1), String.valueOf(rs.getString(2))))
                .forEach(entry -> owners.put(entry.getKey(), entry.getValue())));
        assertThat(owners.get(aliceBatch)).isEqualTo("alice");
        assertThat(owners.get(bobBatch)).isEqualTo("bob");
        assertThat(owners.get(admins)).isEqualTo("boss");
        assertThat(owners.get(bare)).matches("sha256:[0-9a-f]{12}");
        for (String owner : owners.values()) {
            assertThat(owner).doesNotContain(READ).doesNotContain(ALICE).doesNotContain(BOB).doesNotContain(ADMIN).doesNotContain(BARE);
        }
        // A bare token is admin, as before scopes: it sees everyone's batches and may steer types.
        assertThat(listed(BARE)).contains(aliceBatch, bobBatch);
        assertThat(call("PATCH", "/api/v1/types/echo", BARE, "{\"paused\": false}").status()).isEqualTo(200);
    }

    @Test
    void theDashboardsFilesNeedNoToken() {
        // They hold no data; the page asks for a token and sends it to /api.
        for (String path : List.of("/", "/app.js")) {
            RawHttp.Result result = call("GET", path, null, "");
            assertThat(result.status()).as(path).isEqualTo(200);
        }
    }

    // ---- helpers

    static RawHttp.Result call(Row row, As as) {
        // Every caller aims at Alice's batch (or its job): her own for SUBMIT_OWN, another's for Bob.
        String path = row.path().replace("{id}", row.path().startsWith("/api/v1/schedules/") ? "alice-schedule"
                        : Long.toString(row.path().startsWith("/api/v1/jobs/") ? aliceJob : aliceBatch))
                .replace("{name}", "echo");
        String token = switch (as) {
            case NONE -> null;
            case READ -> READ;
            case SUBMIT_OWN -> ALICE;
            case SUBMIT_OTHERS -> BOB;
            case ADMIN -> ADMIN;
        };
        return call(row.method(), path, token, row.body());
    }

    static RawHttp.Result call(String method, String path, String token, String body) {
        return call(method, path, token, body, Map.of());
    }

    static RawHttp.Result call(String method, String path, String token, String body, Map<String, String> extra) {
        Map<String, String> headers = new LinkedHashMap<>(extra);
        if (token != null) headers.put("Authorization", "Bearer " + token);
        if (!body.isEmpty()) headers.put("Content-Type", "application/json");
        return RawHttp.send(URI.create(procq.baseUrl()).getPort(), method, path, headers, body.getBytes(StandardCharsets.UTF_8));
    }

    static long submit(String token, String target) {
        RawHttp.Result result = call("POST", "/api/v1/batches", token, "{\"type\": \"echo\", \"targets\": [\"" + target + "\"]}");
        assertThat(result.status()).as(result.body()).isEqualTo(202);
        return json(result).get("id").asLong();
    }

    static long firstJob(long batch) {
        RawHttp.Result result = call("GET", "/api/v1/batches/" + batch + "/jobs", ADMIN, "");
        return json(result).get("items").get(0).get("id").asLong();
    }

    /** Every batch id the token's listing shows, following "next" to the end. */
    static List<Long> listed(String token) {
        List<Long> ids = new ArrayList<>();
        String next = "/api/v1/batches?limit=2";
        while (next != null) {
            RawHttp.Result page = call("GET", next, token, "");
            assertThat(page.status()).isEqualTo(200);
            JsonNode body = json(page);
            body.get("items").forEach(item -> ids.add(item.get("id").asLong()));
            next = body.get("next").isNull() ? null : body.get("next").asText();
        }
        return ids;
    }

    static boolean nothingRecordedBy(String owner) {
        return postgres.database().jdbi().withHandle(handle -> handle.createQuery(
                "SELECT count(*) FROM procq.batch WHERE owner = :owner").bind("owner", owner).mapTo(Long.class).one()) == 0;
    }

    static JsonNode json(RawHttp.Result result) {
        try {
            return Procq.JSON.readTree(result.body());
        } catch (java.io.IOException e) {
            throw new IllegalStateException("not JSON: " + result.body(), e);
        }
    }
}
