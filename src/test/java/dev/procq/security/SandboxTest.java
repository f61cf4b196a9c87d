package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.procq.config.ConfigException;
import dev.procq.pool.Bubblewrap;
import dev.procq.testing.LiveProcesses;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A hostile program in a sandboxed type (bubblewrap) tries what an exploited ImageMagick would:
 * reach PostgreSQL and a local HTTP server, write outside its writable paths, read the worker's
 * environment, signal the worker. Every attempt runs and prints its outcome; the same script in a
 * type without a sandbox succeeds at each, so the failures are the sandbox's doing.
 */
class SandboxTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    /** One line per attempt, "name: ok" or "name: failed", then "done". */
    static final String HOSTILE = """
            #!/bin/bash
            n=$1
            try() { local name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name: ok"; else echo "$name: failed"; fi; }
            try tcp-postgres timeout 3 bash -c 'exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT"'
            try http-server timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT" && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && grep -q procq-sandbox-test <&3'
            try unix-postgres timeout 3 python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "/var/run/postgresql/.s.PGSQL.$PG_PORT"
            try write-etc sh -c "echo x > /etc/procq-sandbox-$n"
            try write-workdir sh -c "echo x > '$WORKER_DIR/procq-sandbox-$n'"
            try write-tmp sh -c "echo x > /tmp/procq-sandbox-$n"
            try read-environ sh -c "head -c 1 /proc/$WORKER_PID/environ | grep -q ."
            try signal-worker kill -0 "$WORKER_PID"
            try read-job-types grep -q . "$JOB_TYPES_FILE"
            try read-password grep -q . "$PASSWORD_FILE"
            echo done
            """;
    static final List<String> ATTEMPTS = List.of("tcp-postgres", "http-server", "unix-postgres", "write-etc",
            "write-workdir", "write-tmp", "read-environ", "signal-worker", "read-job-types", "read-password");

    static Procq procq;
    static HttpServer http;
    static Path scratch;
    static Path writable;
    static String pgPort;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Files.isExecutable(Bubblewrap.DEFAULT_PATH),
                "bubblewrap is not installed (" + Bubblewrap.DEFAULT_PATH + "; apt-get install bubblewrap, as .ci/run does)");
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/", exchange -> {
            byte[] body = "procq-sandbox-test\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        http.start();
        // Not under /tmp: the sandbox has a private /tmp and would not see the script (a checkout
        // may itself live under /tmp; then /var/tmp, which the sandbox sees read-only).
        Path build = Files.createDirectories(Path.of("target").toAbsolutePath());
        Path base = build.startsWith("/tmp") ? Path.of("/var/tmp") : build;
        scratch = Files.createTempDirectory(base, "procq-sandbox-test-");
        writable = Files.createDirectory(scratch.resolve("out"));
        Path script = scratch.resolve("hostile.sh");
        Files.writeString(script, HOSTILE);
        Matcher address = Pattern.compile("//([^:/?]+):(\\d+)/").matcher(postgres.target().jdbcUrl());
        assertThat(address.find()).as("host and port in %s", postgres.target().jdbcUrl()).isTrue();
        pgPort = address.group(2);

        Map<String, String> env = new LinkedHashMap<>();
        env.put("PG_HOST", address.group(1));
        env.put("PG_PORT", pgPort);
        env.put("HTTP_PORT", Integer.toString(http.getAddress().getPort()));
        env.put("WORKER_PID", Long.toString(ProcessHandle.current().pid()));
        env.put("WORKER_DIR", Path.of("").toAbsolutePath().toString());
        // procq's own secret-holding files, readable by the worker's user: the sandbox covers them.
        Path jobTypesFile = scratch.resolve("jobtypes.yaml");
        Path passwordFile = Files.writeString(scratch.resolve("password"), "s3cret-" + UUID.randomUUID() + "\n");
        env.put("JOB_TYPES_FILE", jobTypesFile.toString());
        env.put("PASSWORD_FILE", passwordFile.toString());
        String envYaml = Procq.JSON.writeValueAsString(env);
        String hostile = Procq.JSON.writeValueAsString(List.of("bash", script.toString(), "{target}"));
        String types = """
                types:
                  sandboxed:
                    command: %1$s
                    env: %2$s
                    sandbox: {}
                  open:
                    command: %1$s
                    env: %2$s
                  online:
                    command: %1$s
                    env: %2$s
                    sandbox: {network: true}
                  writer:
                    command: ["sh", "-c", "echo made > \\"$1/$2\\"", "writer", %3$s, "{target}"]
                    sandbox: {writable: [%3$s]}
                  stuck:
                    command: ["sh", "-c", "sleep $1 & sleep $1 & wait", "stuck", "{target}"]
                    timeout: 2s
                    sandbox: {}
                """.formatted(hostile, envYaml, Procq.JSON.writeValueAsString(writable.toString()));
        Files.writeString(jobTypesFile, types);
        procq = new Procq(postgres, types, Map.of("PROCQ_WORKER_CONCURRENCY", "4", "PROCQ_WORKER_METRICS_PORT", "off",
                "PROCQ_KILL_GRACE", "1s", "PROCQ_LEASE", "5s", "PROCQ_JOB_TYPES", jobTypesFile.toString(),
                "PROCQ_DATABASE_PASSWORD_FILE", passwordFile.toString())).startApi();
        procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        if (procq != null) procq.close();
        if (http != null) http.stop(0);
        if (scratch != null) {
            try (java.util.stream.Stream<Path> tree = Files.walk(scratch)) {
                tree.sorted(java.util.Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    @Test
    void everyAttemptOfAHostileSandboxedProgramRunsAndFails() {
        String nonce = UUID.randomUUID().toString();
        Map<String, String> outcomes = attempts(runOne("sandboxed", nonce));
        assertThat(outcomes.get("tcp-postgres")).isEqualTo("failed");
        assertThat(outcomes.get("http-server")).isEqualTo("failed");
        assertThat(outcomes.get("unix-postgres")).isEqualTo("failed");
        assertThat(outcomes.get("write-etc")).isEqualTo("failed");
        assertThat(outcomes.get("write-workdir")).isEqualTo("failed");
        // Writing to /tmp works, but into the sandbox's own: nothing reaches the host's /tmp.
        assertThat(outcomes.get("write-tmp")).isEqualTo("ok");
        assertThat(Path.of("/tmp/procq-sandbox-" + nonce)).doesNotExist();
        assertThat(outcomes.get("read-environ")).isEqualTo("failed");
        assertThat(outcomes.get("signal-worker")).isEqualTo("failed");
        assertThat(outcomes.get("read-job-types")).isEqualTo("failed");
        assertThat(outcomes.get("read-password")).isEqualTo("failed");
        assertThat(Path.of("/etc/procq-sandbox-" + nonce)).doesNotExist();
        assertThat(Path.of("procq-sandbox-" + nonce)).doesNotExist();
    }

    @Test
    void theSameProgramWithoutASandboxSucceedsAtEachAttempt() throws IOException {
        String nonce = UUID.randomUUID().toString();
        try {
            Map<String, String> outcomes = attempts(runOne("open", nonce));
            for (String attempt : ATTEMPTS) {
                if (attempt.equals("unix-postgres") && !Files.exists(Path.of("/var/run/postgresql/.s.PGSQL." + pgPort))) {
                    continue; // no local socket on this host: the line ran, there is nothing to reach
                }
                if (attempt.equals("write-etc") && !Files.isWritable(Path.of("/etc"))) {
                    continue; // a worker that is not root cannot write /etc even without a sandbox
                }
                assertThat(outcomes.get(attempt)).as(attempt).isEqualTo("ok");
            }
            assertThat(Path.of("/tmp/procq-sandbox-" + nonce)).exists();
            if (Files.isWritable(Path.of("/etc"))) assertThat(Path.of("/etc/procq-sandbox-" + nonce)).exists();
            assertThat(Path.of("procq-sandbox-" + nonce)).exists();
        } finally {
            Files.deleteIfExists(Path.of("/tmp/procq-sandbox-" + nonce));
            Files.deleteIfExists(Path.of("/etc/procq-sandbox-" + nonce));
            Files.deleteIfExists(Path.of("procq-sandbox-" + nonce));
        }
    }

    @Test
    void networkTrueLetsTheSandboxConnect() {
        Map<String, String> outcomes = attempts(runOne("online", UUID.randomUUID().toString()));
        assertThat(outcomes.get("http-server")).isEqualTo("ok");
        assertThat(outcomes.get("tcp-postgres")).isEqualTo("ok");
        // Still read-only, still its own PID namespace.
        assertThat(outcomes.get("write-etc")).isEqualTo("failed");
        assertThat(outcomes.get("signal-worker")).isEqualTo("failed");
    }

    @Test
    void aListedWritablePathIsWritable() throws IOException {
        String name = "made-" + UUID.randomUUID();
        JsonNode job = runOne("writer", name);
        assertThat(job.get("state").asText()).as(job.toString()).isEqualTo("OK");
        assertThat(Files.readString(writable.resolve(name))).isEqualTo("made\n");
    }

    @Test
    void aSandboxedTimeoutEndsTheWholeTreeBwrapIncluded() {
        String seconds = LiveProcesses.uniqueSleepSeconds();
        long batch = procq.submit("stuck", List.of(seconds));
        // bwrap, its init inside the PID namespace, sh and two sleeps all carry the argument.
        await().atMost(Duration.ofSeconds(10)).until(() -> LiveProcesses.withArgument(seconds).size() >= 4);
        List<Long> tree = LiveProcesses.withArgument(seconds);
        assertThat(tree.stream().map(SandboxTest::program)).contains("bwrap", "sleep");
        await().atMost(Duration.ofSeconds(30)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        JsonNode job = jobs(batch).get(0);
        assertThat(job.get("state").asText()).isEqualTo("FAILED");
        assertThat(job.get("attempts").get(0).get("outcome").asText()).isEqualTo("TIMEOUT");
        await().atMost(Duration.ofSeconds(5)).until(() -> LiveProcesses.withArgument(seconds).isEmpty());
    }

    @Test
    void aWorkerWhoseSandboxCannotBeBuiltRefusesToStartNamingTheType() {
        Procq broken = new Procq(postgres, """
                types:
                  thumbs:
                    command: [convert, "{target}", out.jpg]
                    sandbox: {writable: [/nonexistent/thumbs]}
                """, Map.of("PROCQ_WORKER_METRICS_PORT", "off"));
        try (broken) {
            assertThatThrownBy(broken::startWorker)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("job type thumbs has a sandbox, but writable directory /nonexistent/thumbs does not exist");
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static String program(long pid) {
        try {
            return Path.of("/proc", Long.toString(pid), "exe").toRealPath().getFileName().toString();
        } catch (IOException gone) {
            return "gone";
        }
    }

    /** Each attempt's outcome, requiring a line for every one: an attempt that never ran fails the test. */
    private static Map<String, String> attempts(JsonNode job) {
        String output = job.get("attempts").get(0).get("outputTail").asText();
        assertThat(output).as("the script ran to its end").contains("done");
        Map<String, String> outcomes = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            int colon = line.indexOf(": ");
            if (colon > 0) outcomes.put(line.substring(0, colon), line.substring(colon + 2));
        }
        assertThat(outcomes.keySet()).as(output).containsAll(ATTEMPTS);
        return outcomes;
    }

    private static JsonNode runOne(String type, String target) {
        long batch = procq.submit(type, List.of(target));
        await().atMost(Duration.ofSeconds(60)).until(() -> procq.batch(batch).get("state").asText().equals("DONE"));
        return jobs(batch).get(0);
    }

    private static List<JsonNode> jobs(long batch) {
        JsonNode items = procq.get("/api/v1/batches/" + batch + "/jobs").json().get("items");
        List<JsonNode> jobs = new java.util.ArrayList<>();
        for (JsonNode item : items) jobs.add(procq.get("/api/v1/jobs/" + item.get("id").asLong()).json());
        return jobs;
    }
}
