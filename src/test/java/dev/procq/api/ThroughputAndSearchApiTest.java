package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * GET /api/v1/batches/{id}/throughput, GET /api/v1/throughput and the jobs listing's ?target=
 * search. No worker runs: jobs are ended by SQL at known times, so each minute's count is known.
 * Every answer is checked against the OpenAPI document.
 */
class ThroughputAndSearchApiTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final Map<String, String> READER = Map.of("Authorization", "Bearer r3ad");
    static final Map<String, String> ALICE = Map.of("Authorization", "Bearer al1ce");
    static final Map<String, String> BOB = Map.of("Authorization", "Bearer b0b");

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, Procq.ECHO_TYPES, Map.of("PROCQ_API_TOKENS", "read:grafana=r3ad,submit:alice=al1ce,submit:bob=b0b"))
                .checkedAgainst(OpenApiContract.load()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static long submit(Map<String, String> as, List<String> targets) throws Exception {
        Procq.Response response = procq.post("/api/v1/batches", "application/json",
                Procq.JSON.writeValueAsString(Map.of("type", "echo", "targets", targets)), as);
        assertThat(response.status()).as(response.body()).isEqualTo(202);
        return response.json().get("id").asLong();
    }

    /**
     * Ends the batch's jobs with these targets in {@code state} at the start of the minute
     * {@code minutesAgo} minutes before the current one, plus {@code seconds}; returns that minute's start.
     */
    static OffsetDateTime end(long batch, String state, int minutesAgo, int seconds, String... targets) {
        return procq.database().jdbi().withHandle(h -> h.createQuery("""
                WITH at AS (SELECT date_bin('1 minute', now(), timestamptz 'epoch') - :minutesAgo * interval '1 minute' AS minute),
                     ended AS (
                    UPDATE procq.job SET state = :state, attempts = 1,
                           finished_at = (SELECT minute FROM at) + :seconds * interval '1 second'
                     WHERE batch_id = :batch AND target = ANY(:targets) RETURNING id)
                SELECT minute FROM at WHERE (SELECT count(*) FROM ended) = :n""")
                .bind("batch", batch).bind("state", state).bind("minutesAgo", minutesAgo).bind("seconds", seconds)
                .bind("targets", targets).bind("n", targets.length)
                .mapTo(OffsetDateTime.class).one());
    }

    static JsonNode get(String path, Map<String, String> as) {
        Procq.Response response = procq.get(path, as);
        assertThat(response.status()).as(path + ": " + response.body()).isEqualTo(200);
        return response.json();
    }

    static JsonNode bucketAt(JsonNode throughput, OffsetDateTime start) {
        for (JsonNode bucket : throughput.get("buckets")) {
            if (OffsetDateTime.parse(bucket.get("start").asText()).isEqual(start)) return bucket;
        }
        throw new AssertionError("no bucket starting at " + start + " in " + throughput);
    }

    /** Sixty one-minute buckets, back to back, oldest first, ending with the minute in progress. */
    static void assertHourShape(JsonNode throughput) {
        assertThat(throughput.get("bucketSeconds").asInt()).isEqualTo(60);
        JsonNode buckets = throughput.get("buckets");
        assertThat(buckets).hasSize(60);
        OffsetDateTime first = OffsetDateTime.parse(buckets.get(0).get("start").asText());
        for (int i = 0; i < 60; i++) {
            assertThat(OffsetDateTime.parse(buckets.get(i).get("start").asText()).isEqual(first.plusMinutes(i))).as("bucket " + i).isTrue();
        }
        assertThat(first.getSecond()).isZero();
        assertThat(OffsetDateTime.parse(throughput.get("from").asText()).isEqual(first)).isTrue();
        OffsetDateTime to = OffsetDateTime.parse(throughput.get("to").asText());
        assertThat(to.isEqual(first.plusMinutes(60))).isTrue();
        assertThat(Duration.between(OffsetDateTime.now(), to).toSeconds()).as("the last bucket is the minute in progress").isBetween(0L, 65L);
    }

    @Test
    void eachMinuteCountsTheJobsThatEndedInItAndEmptyMinutesAreZeros() throws Exception {
        long batch = submit(ALICE, List.of("a", "b", "c", "d", "e", "f", "g", "h", "i"));
        long other = submit(BOB, List.of("x", "y"));
        OffsetDateTime tenAgo = end(batch, "OK", 10, 5, "a", "b");
        end(batch, "OK", 10, 59, "c");
        end(batch, "FAILED", 10, 30, "d");
        OffsetDateTime threeAgo = end(batch, "FAILED", 3, 0, "e");
        end(batch, "CANCELLED", 5, 10, "f"); // not work done: left out
        end(batch, "OK", 61, 0, "g"); // before the hour
        end(other, "OK", 10, 1, "x", "y");
        // h and i stay PENDING.

        JsonNode mine = get("/api/v1/batches/" + batch + "/throughput", READER);
        assertHourShape(mine);
        assertThat(bucketAt(mine, tenAgo).get("ok").asLong()).isEqualTo(3);
        assertThat(bucketAt(mine, tenAgo).get("failed").asLong()).isEqualTo(1);
        assertThat(bucketAt(mine, tenAgo).get("perSecond").asDouble()).isEqualTo(0.067);
        assertThat(bucketAt(mine, threeAgo).get("failed").asLong()).isEqualTo(1);
        assertThat(bucketAt(mine, threeAgo).get("ok").asLong()).isZero();
        long nonZero = 0;
        for (JsonNode bucket : mine.get("buckets")) if (bucket.get("ok").asLong() + bucket.get("failed").asLong() > 0) nonZero++;
        assertThat(nonZero).as("every other minute is a bucket of zeros").isEqualTo(2);
        assertThat(mine.get("ok").asLong()).isEqualTo(3);
        assertThat(mine.get("failed").asLong()).isEqualTo(2);

        JsonNode all = get("/api/v1/throughput", READER);
        assertHourShape(all);
        assertThat(bucketAt(all, tenAgo).get("ok").asLong()).as("both batches").isEqualTo(5);
        assertThat(all.get("ok").asLong()).isEqualTo(5);
        assertThat(all.get("failed").asLong()).isEqualTo(2);
        // Bob's counts are in the queue's, which any scope reads, but his batch is not Alice's to read.
        assertThat(get("/api/v1/throughput", ALICE).get("ok").asLong()).isEqualTo(5);
        assertThat(get("/api/v1/batches/" + batch + "/throughput", ALICE).get("ok").asLong()).isEqualTo(3);
        assertThat(procq.get("/api/v1/batches/" + batch + "/throughput", BOB).status()).isEqualTo(404);
    }

    @Test
    void aBatchWithNothingEndedIsAnHourOfZeros() throws Exception {
        long batch = submit(ALICE, List.of("p", "q"));
        JsonNode none = get("/api/v1/batches/" + batch + "/throughput", ALICE);
        assertHourShape(none);
        for (JsonNode bucket : none.get("buckets")) {
            assertThat(bucket.get("ok").asLong() + bucket.get("failed").asLong()).isZero();
            assertThat(bucket.get("perSecond").asDouble()).isZero();
        }
    }

    @Test
    void throughputOfAnUnknownBatchIs404AndNeedsAToken() {
        Procq.Response unknown = procq.get("/api/v1/batches/999999/throughput", READER);
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.json().get("error").asText()).contains("batch 999999");
        assertThat(procq.get("/api/v1/batches/abc/throughput", READER).status()).isEqualTo(400);
        assertThat(procq.get("/api/v1/throughput").status()).isEqualTo(401);
        assertThat(procq.get("/api/v1/throughput", Map.of("Authorization", "Bearer wrong")).status()).isEqualTo(401);
    }

    static List<String> targets(JsonNode page) {
        List<String> found = new ArrayList<>();
        page.get("items").forEach(job -> found.add(job.get("target").asText()));
        return found;
    }

    static String jobs(long batch, String query) {
        return "/api/v1/batches/" + batch + "/jobs?" + query;
    }

    static String target(String prefix) {
        return "target=" + URLEncoder.encode(prefix, StandardCharsets.UTF_8);
    }

    @Test
    void theSearchListsTheJobsWhoseTargetStartsWithThePrefix() throws Exception {
        long batch = submit(ALICE, List.of("photos/2024/a.jpg", "Photos/2024/b.jpg", "photos/2025/c.jpg",
                "photos/2024/d.jpg", "logs/x_1", "logs/xy1", "logs/x%1", "old/photos/2024/e.jpg"));
        assertThat(targets(get(jobs(batch, target("photos/2024/")), ALICE)))
                .as("case-sensitive, from the start only, in id order").containsExactly("photos/2024/a.jpg", "photos/2024/d.jpg");
        assertThat(targets(get(jobs(batch, target("logs/x_")), ALICE))).as("_ is a character, not a wildcard").containsExactly("logs/x_1");
        assertThat(targets(get(jobs(batch, target("logs/x%")), ALICE))).as("% too").containsExactly("logs/x%1");
        assertThat(targets(get(jobs(batch, target("photos/2024/a.jpg")), ALICE))).containsExactly("photos/2024/a.jpg");
        JsonNode none = get(jobs(batch, target("nothing/")), ALICE);
        assertThat(none.get("items")).isEmpty();
        assertThat(none.get("next").isNull()).isTrue();
        assertThat(targets(get(jobs(batch, "target="), ALICE))).as("empty: no filter").hasSize(8);

        // With a state as well.
        end(batch, "OK", 0, 0, "photos/2024/d.jpg");
        assertThat(targets(get(jobs(batch, "state=OK&" + target("photos/")), ALICE))).containsExactly("photos/2024/d.jpg");
        assertThat(targets(get(jobs(batch, "state=PENDING&" + target("photos/")), ALICE)))
                .containsExactly("photos/2024/a.jpg", "photos/2025/c.jpg");
    }

    @Test
    void searchResultsArePagedAndTheNextLinkKeepsThePrefix() throws Exception {
        List<String> submitted = new ArrayList<>();
        for (int i = 0; i < 5; i++) submitted.add("a b/" + i);
        for (int i = 0; i < 5; i++) submitted.add("other/" + i);
        long batch = submit(ALICE, submitted);
        List<String> seen = new ArrayList<>();
        String next = jobs(batch, "limit=2&" + target("a b/"));
        int pages = 0;
        while (next != null) {
            JsonNode page = get(next, ALICE);
            seen.addAll(targets(page));
            next = page.get("next").isNull() ? null : page.get("next").asText();
            if (next != null) assertThat(next).contains("target=a+b%2F");
            pages++;
        }
        assertThat(seen).containsExactly("a b/0", "a b/1", "a b/2", "a b/3", "a b/4");
        assertThat(pages).isEqualTo(3);
    }

    @Test
    void aPrefixTooLongOrWithControlCharactersIs400() throws Exception {
        long batch = submit(ALICE, List.of("t1", "t2"));
        Procq.Response tooLong = procq.get(jobs(batch, target("t".repeat(257))), ALICE);
        assertThat(tooLong.status()).isEqualTo(400);
        assertThat(tooLong.json().get("error").asText()).isEqualTo("target must be a prefix of at most 256 characters, got 257");
        assertThat(procq.get(jobs(batch, target("t".repeat(256))), ALICE).status()).as("256 is allowed").isEqualTo(200);
        for (String control : List.of("t\u0000", "t\n", "\tt", "t\u007f")) {
            Procq.Response refused = procq.get(jobs(batch, target(control)), ALICE);
            assertThat(refused.status()).as(control).isEqualTo(400);
            assertThat(refused.json().get("error").asText()).startsWith("target must not contain control characters");
        }
        Procq.Response nul = procq.get(jobs(batch, target("t\u0000")), ALICE);
        assertThat(nul.json().get("error").asText()).endsWith("(found U+0000 at position 1)");
        // Nothing about the batch changed.
        JsonNode after = get("/api/v1/batches/" + batch, ALICE);
        assertThat(after.get("counts").get("PENDING").asLong()).isEqualTo(2);
        assertThat(after.get("state").asText()).isEqualTo("PENDING");
        // Another's batch is 404 with or without a search.
        assertThat(procq.get(jobs(batch, target("t")), BOB).status()).isEqualTo(404);
    }
}
