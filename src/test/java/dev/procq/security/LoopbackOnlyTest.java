package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.api.ApiServer;
import dev.procq.config.ConfigException;
import dev.procq.config.JobTypes;
import dev.procq.config.Settings;
import dev.procq.metrics.Metrics;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without PROCQ_API_TOKENS the API is for this machine only: it refuses to listen anywhere else,
 * and refuses browsers that call it on behalf of other sites (cross-site writes, DNS rebinding).
 */
class LoopbackOnlyTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              echo:
                command: ["echo", "{target}"]
            """;
    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, TYPES, Map.of()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    static Settings settings(String host, String tokens) {
        return new Settings(tokens == null ? Map.of("PROCQ_HTTP_HOST", host)
                : Map.of("PROCQ_HTTP_HOST", host, "PROCQ_API_TOKENS", tokens));
    }

    @Test
    void apiBeyondLoopbackWithoutTokensIsRefusedWithTheReason() {
        for (String host : List.of("0.0.0.0", "::", "192.168.1.10", "10.0.0.1")) {
            assertThatThrownBy(() -> settings(host, null).validateForApi())
                    .as(host)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("PROCQ_HTTP_HOST=" + host)
                    .hasMessageContaining("PROCQ_API_TOKENS is empty")
                    .hasMessageContaining("anyone who reaches the port could submit work");
        }
        assertThatThrownBy(() -> settings("0.0.0.0", " , ").validateForApi())
                .as("a list of blanks is no token")
                .isInstanceOf(ConfigException.class);
    }

    @Test
    void loopbackNeedsNoTokensAndTokensAllowAnyHost() {
        for (String host : List.of("127.0.0.1", "localhost", "::1", "127.0.0.2")) {
            assertThat(settings(host, null).validateForApi().httpHost()).isEqualTo(host);
        }
        assertThat(settings("0.0.0.0", "s3cret").validateForApi().apiTokens()).containsExactly("s3cret");
    }

    @Test
    void workerMayServeItsMetricsBeyondLoopbackWithoutTokens() {
        // The worker serves /metrics and /healthz on PROCQ_HTTP_HOST, never the API.
        assertThat(settings("0.0.0.0", null).httpHost()).isEqualTo("0.0.0.0");
    }

    @Test
    void apiServerCannotBeBuiltBeyondLoopbackWithoutTokens() {
        Settings exposed = postgres.settings(Map.of("PROCQ_HTTP_HOST", "0.0.0.0", "PROCQ_HTTP_PORT", "0"));
        assertThatThrownBy(() -> new ApiServer(exposed, postgres.database(), JobTypes.parse(TYPES, "test"), new Metrics("test")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("PROCQ_API_TOKENS");
    }

    @Test
    void apiAndDevCommandsExitWith2AndSayWhy(@TempDir Path data) throws Exception {
        Map<String, String> exposed = Map.of("PROCQ_HTTP_HOST", "0.0.0.0", "PROCQ_HTTP_PORT", "0",
                // nothing listens here: the command must stop before it would connect
                "PROCQ_DATABASE_URL", "jdbc:postgresql://127.0.0.1:9/none");
        Finished api = runProcq(exposed, "api");
        assertThat(api.exitCode()).as(api.stderr()).isEqualTo(2);
        assertThat(api.stderr()).contains("PROCQ_HTTP_HOST=0.0.0.0 listens beyond loopback but PROCQ_API_TOKENS is empty");

        Finished dev = runProcq(exposed, "dev", "--data", data.resolve("pg").toString());
        assertThat(dev.exitCode()).as(dev.stderr()).isEqualTo(2);
        assertThat(dev.stderr()).contains("PROCQ_API_TOKENS is empty");
        assertThat(data.resolve("pg")).as("no embedded PostgreSQL was started").doesNotExist();
    }

    @Test
    void requestAddressedToAnotherNameIsRefusedAsDnsRebinding() {
        int port = port();
        for (String host : List.of("evil.example:" + port, "evil.example", "127.0.0.1.evil.example:" + port, "0.0.0.0:" + port)) {
            RawHttp.Result result = RawHttp.send(port, "GET", "/api/v1/batches", Map.of("Host", host), new byte[0]);
            assertThat(result.status()).as(host).isEqualTo(403);
            assertThat(result.body()).as(host).contains("loopback").doesNotContain("\"items\"");
        }
        for (String host : List.of("127.0.0.1:" + port, "localhost:" + port, "[::1]:" + port, "LOCALHOST")) {
            assertThat(RawHttp.send(port, "GET", "/api/v1/batches", Map.of("Host", host), new byte[0]).status())
                    .as(host).isEqualTo(200);
        }
        // Health and metrics carry no data worth rebinding for.
        assertThat(RawHttp.send(port, "GET", "/healthz", Map.of("Host", "evil.example"), new byte[0]).status()).isEqualTo(200);
    }

    @Test
    void crossSiteWritesAreRefusedAndRecordNothing() {
        int port = port();
        long before = rowCount();
        List<Map<String, String>> crossSite = new ArrayList<>();
        crossSite.add(Map.of("Origin", "http://evil.example"));
        crossSite.add(Map.of("Origin", "null"));
        crossSite.add(Map.of("Origin", "http://127.0.0.1:" + (port + 1)));
        crossSite.add(Map.of("Sec-Fetch-Site", "cross-site"));
        crossSite.add(Map.of("Sec-Fetch-Site", "same-site", "Origin", "http://127.0.0.1:" + port));
        for (Map<String, String> headers : crossSite) {
            Map<String, String> form = new java.util.HashMap<>(headers);
            form.put("Content-Type", "text/plain");
            RawHttp.Result submit = RawHttp.send(port, "POST", "/api/v1/batches?type=echo", form,
                    "innocent\n".getBytes(StandardCharsets.UTF_8));
            assertThat(submit.status()).as(headers.toString()).isEqualTo(403);
            assertThat(RawHttp.send(port, "POST", "/api/v1/batches/1/cancel", headers, new byte[0]).status())
                    .as(headers.toString()).isEqualTo(403);
        }
        assertThat(rowCount()).isEqualTo(before);

        // The API's own pages and non-browser clients are unaffected.
        RawHttp.Result sameOrigin = RawHttp.send(port, "POST", "/api/v1/batches?type=echo",
                Map.of("Content-Type", "text/plain", "Origin", "http://127.0.0.1:" + port, "Sec-Fetch-Site", "same-origin"),
                "fine\n".getBytes(StandardCharsets.UTF_8));
        assertThat(sameOrigin.status()).as(sameOrigin.body()).isEqualTo(202);
        assertThat(procq.post("/api/v1/batches?type=echo", "text/plain", "cli\n", Map.of()).status()).isEqualTo(202);
    }

    record Finished(int exitCode, String stderr) {
    }

    static Finished runProcq(Map<String, String> env, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), "dev.procq.Main"));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        builder.environment().keySet().removeIf(name -> name.startsWith("PROCQ_"));
        builder.environment().putAll(env);
        Path stderr = Files.createTempFile("procq-stderr", ".txt");
        try {
            Process process = builder.redirectError(stderr.toFile()).start();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("procq " + String.join(" ", args) + " did not exit");
            }
            return new Finished(process.exitValue(), Files.readString(stderr));
        } finally {
            Files.deleteIfExists(stderr);
        }
    }

    private static int port() {
        return URI.create(procq.baseUrl()).getPort();
    }

    private static long rowCount() {
        return procq.database().jdbi().withHandle(h -> h.createQuery(
                "SELECT (SELECT count(*) FROM procq.batch) + (SELECT count(*) FROM procq.job)").mapTo(Long.class).one());
    }
}
