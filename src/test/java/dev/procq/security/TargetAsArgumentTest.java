package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Through the real API and a real worker: whatever a target holds, the child receives it as
 * exactly one argv element, byte for byte, and no shell ever interprets it. The children print
 * their argv as hex, so the output tail shows the bytes the kernel handed them.
 */
class TargetAsArgumentTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** Prints the number of arguments, then each argument's bytes in hex, one per line. */
    static final String PRINT_ARGV = "import os, sys; print(len(sys.argv) - 1); [print(os.fsencode(a).hex()) for a in sys.argv[1:]]";
    static final String TYPES = """
            types:
              argv:
                command: ["python3", "-c", "%1$s", "{target}"]
                env: {PATH: "/usr/local/bin:/usr/bin:/bin"}
                concurrency: 8
              embedded:
                command: ["python3", "-c", "%1$s", "--input={target}", "{target}.out"]
                env: {PATH: "/usr/local/bin:/usr/bin:/bin"}
                concurrency: 8
              shellarg:
                # the usual way to hand a target to a script: as $1, never inside the script text
                command: ["sh", "-c", "printf '%%s' \\"$1\\" | od -An -v -tx1 | tr -d ' \\\\n'", "shellarg", "{target}"]
                concurrency: 8
            """.formatted(PRINT_ARGV.replace("\"", "\\\""));
    static final Path PWNED = Path.of("/tmp/pwned");
    static final List<String> TARGETS = List.of(
            "a b;c$(d)'e\"f`g",
            "$(touch /tmp/pwned)",
            "; rm -rf /",
            "`id`",
            "x > /tmp/pwned | touch /tmp/pwned & y",
            "*",
            "~root",
            "$HOME",
            "{target}",
            "{meta.name}",
            "  spaces around  ",
            "back\\slash\\0 and \\n",
            "'\"'\"'",
            "é € 😀");

    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_CONCURRENCY", "8", "PROCQ_WORKER_METRICS_PORT", "off"))
                .startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void targetWithShellMetacharactersIsExactlyOneArgumentByteForByte() {
        Instant started = Instant.now();
        List<JobNode> jobs = runAll("argv", TARGETS);
        for (JobNode job : jobs) {
            assertThat(job.state()).as(job.target() + ": " + job.tail()).isEqualTo("OK");
            assertThat(job.tail()).as(job.target()).isEqualTo("1\n" + hex(job.target()) + "\n");
        }
        assertThat(!Files.exists(PWNED) || modifiedBefore(PWNED, started)).as("/tmp/pwned was not touched").isTrue();
    }

    @Test
    void targetInsideATemplateElementStaysInsideThatElement() {
        for (JobNode job : runAll("embedded", TARGETS)) {
            assertThat(job.state()).as(job.target()).isEqualTo("OK");
            assertThat(job.tail()).as(job.target())
                    .isEqualTo("2\n" + hex("--input=" + job.target()) + "\n" + hex(job.target() + ".out") + "\n");
        }
    }

    @Test
    void targetHandedToAShellScriptAsDollarOneIsNeverParsed() {
        Instant started = Instant.now();
        for (JobNode job : runAll("shellarg", TARGETS)) {
            assertThat(job.state()).as(job.target()).isEqualTo("OK");
            assertThat(job.tail()).as(job.target()).isEqualTo(hex(job.target()));
        }
        assertThat(!Files.exists(PWNED) || modifiedBefore(PWNED, started)).as("/tmp/pwned was not touched").isTrue();
    }

    record JobNode(String target, String state, String tail) {
    }

    /** Submits the targets over HTTP, waits for the batch to finish, returns each job with its output tail. */
    static List<JobNode> runAll(String type, List<String> targets) {
        long batch = procq.submit(type, targets);
        await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        JsonNode page = procq.get("/api/v1/batches/" + batch + "/jobs?limit=100").json();
        List<JobNode> jobs = new ArrayList<>();
        for (JsonNode item : page.get("items")) {
            JsonNode job = procq.get("/api/v1/jobs/" + item.get("id").asLong()).json();
            JsonNode attempts = job.get("attempts");
            String tail = attempts.isEmpty() ? "" : attempts.get(attempts.size() - 1).get("outputTail").asText();
            jobs.add(new JobNode(job.get("target").asText(), job.get("state").asText(), tail));
        }
        assertThat(jobs).extracting(JobNode::target).containsExactlyElementsOf(targets);
        return jobs;
    }

    static String hex(String text) {
        return HexFormat.of().formatHex(text.getBytes(StandardCharsets.UTF_8));
    }

    static boolean modifiedBefore(Path file, Instant instant) {
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            return modified.toInstant().isBefore(instant);
        } catch (java.io.IOException e) {
            return true;
        }
    }
}
