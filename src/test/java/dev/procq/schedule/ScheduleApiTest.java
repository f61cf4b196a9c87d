package dev.procq.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.PrometheusText;
import dev.procq.testing.Procq;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * /api/v1/schedules against a real API, PostgreSQL and this JVM's scheduler loop (no worker: the
 * batches stay PENDING, which is all these tests look at). Every answer is checked against openapi.json.
 */
class ScheduleApiTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
              url:
                command: ["true", "{target}"]
                targetPattern: '^https?://'
            """;

    @TempDir
    static Path lists;
    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        Files.writeString(lists.resolve("endpoints.txt"), "https://a.example/\n\nhttps://b.example/\n");
        Files.writeString(lists.resolve("bad.txt"), "https://a.example/\nftp://nope/\n");
        Files.writeString(lists.resolve("empty.txt"), "");
        Files.writeString(lists.getParent().resolve("outside-" + lists.getFileName() + ".txt"), "https://c.example/\n");
        Files.createSymbolicLink(lists.resolve("link.txt"), Path.of("/etc/hostname"));
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_SCAN_ROOTS", "lists=" + lists.toRealPath()))
                .checkedAgainst(OpenApiContract.load()).startApi();
        procq.startScheduler();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @AfterEach
    void deleteSchedules() {
        for (JsonNode schedule : procq.get("/api/v1/schedules").json()) {
            procq.send("DELETE", "/api/v1/schedules/" + schedule.get("id").asLong(), "");
        }
    }

    static long count(String sql) {
        return procq.database().jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    static Procq.Response create(String body) {
        return procq.postJson("/api/v1/schedules", body);
    }

    @Test
    void aScheduleIsCreatedShownChangedAndDeleted() {
        Procq.Response created = create("""
                {"name": "nightly", "cron": "0 2 * * *", "timeZone": "Europe/Berlin",
                 "batch": {"type": "echo", "targets": ["a", "b"], "priority": 5},
                 "overlap": "queue-one", "catchUp": "run-once"}""");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        JsonNode schedule = created.json();
        long id = schedule.get("id").asLong();
        assertThat(created.header("Location")).isEqualTo("/api/v1/schedules/" + id);
        assertThat(schedule.get("type").asText()).isEqualTo("echo");
        assertThat(schedule.get("source").asText()).isEqualTo("2 targets");
        assertThat(schedule.get("batch").get("priority").asInt()).isEqualTo(5);
        assertThat(schedule.get("overlap").asText()).isEqualTo("queue-one");
        assertThat(schedule.get("catchUp").asText()).isEqualTo("run-once");
        // Unix cron's five fields, read in Berlin: the next 02:00 there, which is 00:00 or 01:00 UTC.
        OffsetDateTime next = OffsetDateTime.parse(schedule.get("nextRunAt").asText());
        assertThat(next.atZoneSameInstant(java.time.ZoneId.of("Europe/Berlin")).getHour()).isEqualTo(2);
        assertThat(next).isAfter(OffsetDateTime.now());

        assertThat(procq.get("/api/v1/schedules/nightly").json().get("id").asLong()).isEqualTo(id);
        JsonNode listed = procq.get("/api/v1/schedules").json();
        assertThat(listed).hasSize(1);
        assertThat(listed.get(0).has("batch")).as("the list leaves the bodies out").isFalse();

        JsonNode paused = procq.send("PATCH", "/api/v1/schedules/" + id, "{\"paused\": true, \"cron\": \"0 0 3 * * *\"}").json();
        assertThat(paused.get("paused").asBoolean()).isTrue();
        assertThat(paused.get("cron").asText()).isEqualTo("0 0 3 * * *");
        assertThat(paused.get("batch").get("targets")).hasSize(2);

        assertThat(create("{\"name\": \"nightly\", \"cron\": \"0 2 * * *\", \"batch\": {\"type\": \"echo\", \"targets\": [\"a\"]}}")
                .status()).as("the name is taken").isEqualTo(409);

        assertThat(procq.send("DELETE", "/api/v1/schedules/nightly", "").status()).isEqualTo(204);
        assertThat(procq.get("/api/v1/schedules/" + id).status()).isEqualTo(404);
        assertThat(procq.send("DELETE", "/api/v1/schedules/" + id, "").status()).isEqualTo(404);
    }

    @Test
    void aRefusedDefinitionIsA400AndChangesNothing() {
        String target = "\"batch\": {\"type\": \"url\", \"targets\": [\"https://a.example/\"]}";
        long batchesBefore = count("SELECT count(*) FROM procq.batch");
        List<String> refused = List.of(
                "{\"name\": \"x\", \"cron\": \"61 * * * *\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"* * *\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"0 0 0 30 2 *\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"timeZone\": \"Mars/Olympus\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"timeZone\": \"+02:00\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"nope\", \"targets\": [\"a\"]}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"targets\": [\"ftp://a/\"]}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"targets\": []}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"targets\": [1]}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"colour\": 1}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"targets\": [\"https://a/\"], \"priority\": 5000}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"file\": {\"root\": \"lists\", \"path\": \"bad.txt\"}}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"file\": {\"root\": \"lists\", \"path\": \"../outside-"
                        + lists.getFileName() + ".txt\"}}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"file\": {\"root\": \"lists\", \"path\": \"link.txt\"}}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"file\": {\"root\": \"lists\", \"path\": \"/etc/hostname\"}}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"file\": {\"root\": \"elsewhere\", \"path\": \"a\"}}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"url\", \"scan\": {\"root\": \"lists\", \"glob\": \"a/../../b\"}}}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": [\"https://a/\"]}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"overlap\": \"sometimes\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"catchUp\": \"all\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"paused\": \"yes\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\", \"colour\": \"blue\", " + target + "}",
                "{\"name\": \"9lives\", \"cron\": \"* * * * * *\", " + target + "}",
                "{\"cron\": \"* * * * * *\", " + target + "}",
                "{\"name\": \"x\", \"cron\": \"* * * * * *\"}",
                "{\"name\": \"x\", \"name\": \"y\", \"cron\": \"* * * * * *\", " + target + "}",
                "not json");
        for (String body : refused) {
            Procq.Response answer = create(body);
            assertThat(answer.status()).as(body + " -> " + answer.body()).isEqualTo(400);
            assertThat(answer.json().get("error").asText()).as(body).isNotBlank();
        }
        Procq.Response zone = create("{\"name\": \"x\", \"cron\": \"* * * * * *\", \"timeZone\": \"Mars/Olympus\", " + target + "}");
        assertThat(zone.json().get("error").asText()).contains("timeZone 'Mars/Olympus'");
        Procq.Response type = create("{\"name\": \"x\", \"cron\": \"* * * * * *\", \"batch\": {\"type\": \"nope\", \"targets\": [\"a\"]}}");
        assertThat(type.json().get("error").asText()).startsWith("batch: unknown type 'nope' (known: ");

        // A change that would be refused at creation is refused, and leaves the schedule as it was.
        long id = create("{\"name\": \"kept\", \"cron\": \"0 0 3 * * *\", " + target + "}").json().get("id").asLong();
        for (String change : List.of("{\"cron\": \"every day\"}", "{\"timeZone\": \"Nowhere\"}", "{\"overlap\": \"never\"}",
                "{\"batch\": {\"type\": \"url\", \"targets\": [\"-rf\"]}}", "{\"batch\": {\"type\": \"gone\", \"targets\": [\"a\"]}}",
                "{\"name\": \"\"}", "{\"next\": \"now\"}")) {
            assertThat(procq.send("PATCH", "/api/v1/schedules/" + id, change).status()).as(change).isEqualTo(400);
        }
        JsonNode kept = procq.get("/api/v1/schedules/" + id).json();
        assertThat(kept.get("cron").asText()).isEqualTo("0 0 3 * * *");
        assertThat(kept.get("batch").get("targets").get(0).asText()).isEqualTo("https://a.example/");
        assertThat(count("SELECT count(*) FROM procq.schedule")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM procq.batch")).as("no dry run left a batch").isEqualTo(batchesBefore);
        assertThat(count("SELECT count(*) FROM procq.job WHERE batch_id IN (SELECT id FROM procq.batch WHERE id > 0)"))
                .isEqualTo(count("SELECT coalesce(sum(total), 0) FROM procq.batch"));
    }

    @Test
    void eachTickSubmitsTheStoredBodyWithEveryOptionOfIt() {
        JsonNode schedule = create("""
                {"name": "every-second", "cron": "* * * * * *", "overlap": "allow",
                 "batch": {"type": "url", "file": {"root": "lists", "path": "endpoints.txt"},
                           "priority": -7, "halt": {"failed": 3}}}""").json();
        long id = schedule.get("id").asLong();
        assertThat(schedule.get("source").asText()).isEqualTo("file lists:endpoints.txt");
        await().atMost(Duration.ofSeconds(20)).until(() -> procq.get("/api/v1/schedules/" + id).json().get("lastBatches").size() >= 2);

        JsonNode last = procq.get("/api/v1/schedules/" + id).json().get("lastBatches").get(0);
        JsonNode batch = procq.batch(last.get("id").asLong());
        assertThat(batch.get("scheduleId").asLong()).isEqualTo(id);
        assertThat(batch.get("scheduleTickAt").asText()).isEqualTo(last.get("tickAt").asText());
        assertThat(OffsetDateTime.parse(batch.get("scheduleTickAt").asText()).getNano()).as("a whole second").isZero();
        assertThat(batch.get("total").asLong()).as("the file's two lines with a target").isEqualTo(2);
        assertThat(batch.get("priority").asInt()).isEqualTo(-7);
        assertThat(batch.get("halt").get("failed").asLong()).isEqualTo(3);
        List<String> targets = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT target FROM procq.job WHERE batch_id = :b ORDER BY id").bind("b", batch.get("id").asLong())
                .mapTo(String.class).list());
        assertThat(targets).containsExactly("https://a.example/", "https://b.example/");
        // A client's batch has neither.
        JsonNode own = procq.batch(procq.submit("echo", List.of("x")));
        assertThat(own.get("scheduleId").isNull()).isTrue();
        assertThat(own.get("scheduleTickAt").isNull()).isTrue();

        // The file's form works for POST /api/v1/batches too: one intake.
        assertThat(procq.postJson("/api/v1/batches", "{\"type\": \"url\", \"file\": {\"root\": \"lists\", \"path\": \"endpoints.txt\"}}")
                .json().get("total").asLong()).isEqualTo(2);

        PrometheusText metrics = PrometheusText.parse(procq.get("/metrics").body());
        assertThat(metrics.value("procq_schedule_ticks_total", Map.of("outcome", "created"))).isGreaterThanOrEqualTo(2);
        assertThat(metrics.value("procq_schedule_tick_lag_seconds_count", Map.of())).isGreaterThanOrEqualTo(2);
    }

    @Test
    void anEmptyFileIsAcceptedAndItsTicksSubmitNothing() {
        long id = create("{\"name\": \"empty\", \"cron\": \"* * * * * *\", \"overlap\": \"allow\", "
                + "\"batch\": {\"type\": \"url\", \"file\": {\"root\": \"lists\", \"path\": \"empty.txt\"}}}").json().get("id").asLong();
        double before = PrometheusText.parse(procq.get("/metrics").body()).value("procq_schedule_ticks_total", Map.of("outcome", "empty"));
        await().atMost(Duration.ofSeconds(20)).until(() -> PrometheusText.parse(procq.get("/metrics").body())
                .value("procq_schedule_ticks_total", Map.of("outcome", "empty")) >= before + 2);
        assertThat(count("SELECT count(*) FROM procq.batch WHERE schedule_id = " + id)).isZero();
        assertThat(procq.get("/api/v1/schedules/" + id).json().get("lastError").isNull()).isTrue();
    }

    @Test
    void anOperatorPausesAndResumesInPsqlWhileSchedulersRun() {
        long id = create("{\"name\": \"psql\", \"cron\": \"* * * * * *\", \"overlap\": \"allow\", "
                + "\"batch\": {\"type\": \"echo\", \"targets\": [\"a\"]}}").json().get("id").asLong();
        String batches = "SELECT count(*) FROM procq.batch WHERE schedule_id = " + id;
        await().atMost(Duration.ofSeconds(20)).until(() -> count(batches) >= 1);

        procq.database().jdbi().useHandle(h -> h.execute("UPDATE procq.schedule SET paused = true WHERE name = 'psql'"));
        // a tick handled as the update committed may still land; after that, none
        await().pollDelay(Duration.ofMillis(600)).until(() -> true);
        long whilePaused = count(batches);
        await().pollDelay(Duration.ofSeconds(3)).until(() -> true);
        assertThat(count(batches)).as("no batch while paused").isEqualTo(whilePaused);
        assertThat(procq.get("/api/v1/schedules/psql").json().get("paused").asBoolean()).isTrue();

        OffsetDateTime resumed = OffsetDateTime.now();
        procq.database().jdbi().useHandle(h -> h.execute("UPDATE procq.schedule SET paused = false WHERE name = 'psql'"));
        await().atMost(Duration.ofSeconds(20)).until(() -> count(batches) > whilePaused);
        // the ticks of the pause are not caught up: the first batch after it is for a tick after the resume
        OffsetDateTime firstAfter = procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT min(schedule_tick_at) FROM procq.batch WHERE schedule_id = :id AND created_at > :at")
                .bind("id", id).bind("at", resumed).mapTo(OffsetDateTime.class).one());
        assertThat(firstAfter).isAfter(resumed.minusSeconds(1));
    }
}
