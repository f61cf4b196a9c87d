package dev.procq.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.testing.OpenApiContract;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Slowloris against intake: a submission that trickles below the minimum rate, sends nothing, or
 * runs past the deadline is cut off with 408 within the configured bounds, its COPY cancelled and
 * its transaction rolled back; meanwhile others are served; and a client with too many open
 * submissions gets 429 with Retry-After.
 */
class SlowClientTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final Duration WINDOW = Duration.ofSeconds(2);
    static final Duration TIMEOUT = Duration.ofSeconds(6);
    /** Scheduling on a loaded 2-core machine. */
    static final Duration SLACK = Duration.ofSeconds(2);
    static final String SLOW_1 = "s1-" + UUID.randomUUID();
    static final String SLOW_2 = "s2-" + UUID.randomUUID();
    static final String STEADY = "st-" + UUID.randomUUID();
    static final String FAST = "f-" + UUID.randomUUID();
    /** Enough for the parser to open the COPY: the trickle arrives inside the target list. */
    static final String PREFIX = "{\"type\": \"echo\", \"targets\": [\"first\", \"second\", \"";

    static Procq procq;

    @BeforeAll
    static void start() {
        procq = new Procq(postgres, """
                types:
                  echo:
                    command: ["echo", "{target}"]
                """, Map.of(
                "PROCQ_API_TOKENS", "submit:slow1=" + SLOW_1 + ",submit:slow2=" + SLOW_2 + ",submit:steady=" + STEADY
                        + ",submit:fast=" + FAST,
                "PROCQ_SUBMISSION_MIN_BYTES", "100",
                "PROCQ_SUBMISSION_WINDOW", "2s",
                "PROCQ_SUBMISSION_TIMEOUT", "6s",
                "PROCQ_SUBMISSIONS_PER_CLIENT", "2")).checkedAgainst(OpenApiContract.load()).startApi();
    }

    @AfterAll
    static void stop() throws Exception {
        procq.close();
    }

    @Test
    void oneByteASecondIsCutOffWith408WhileOthersAreServed() throws Exception {
        List<Drip> slowloris = new ArrayList<>();
        for (String token : List.of(SLOW_1, SLOW_1, SLOW_2, SLOW_2)) {
            slowloris.add(Drip.start(port(), token, PREFIX, 1, Duration.ofSeconds(1)));
        }
        try {
            // While four submissions trickle, each holding a COPY, the API answers everyone else at once.
            await().atMost(Duration.ofSeconds(1)).until(() -> openCopies() >= 4);
            long started = System.nanoTime();
            Procq.Response ready = procq.get("/readyz");
            Procq.Response submitted = procq.post("/api/v1/batches", "application/json",
                    "{\"type\": \"echo\", \"targets\": [\"quick\"]}", Map.of("Authorization", "Bearer " + FAST));
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(ready.status()).isEqualTo(200);
            assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
            assertThat(took).isLessThan(Duration.ofSeconds(1));

            for (Drip drip : slowloris) {
                Drip.Answer answer = drip.answer(Duration.ofSeconds(20));
                assertThat(answer.status()).as(answer.body()).isEqualTo(408);
                assertThat(answer.body()).contains("\"error\"").contains("too slow").contains("\"detail\"");
                // Cut off after one window of trickling (it cannot be sooner), within two (checked as bytes arrive).
                assertThat(answer.after()).isBetween(WINDOW, WINDOW.multipliedBy(2).plus(SLACK));
            }
        } finally {
            slowloris.forEach(Drip::close);
        }
        assertNothingRecordedAndConnectionsReturned("slow1", "slow2");
    }

    @Test
    void aClientThatSendsNothingIsCutOffWithinTheWindow() throws Exception {
        try (Drip silent = Drip.start(port(), SLOW_1, PREFIX, 0, Duration.ofSeconds(1))) {
            Drip.Answer answer = silent.answer(Duration.ofSeconds(20));
            // Jetty's idle timeout, set to the window for the submission, ends the read.
            assertThat(answer.after()).isBetween(WINDOW.minusMillis(100), WINDOW.plus(SLACK));
            assertThat(answer.status()).as(answer.body()).isIn(408, -1);
        }
        assertNothingRecordedAndConnectionsReturned("slow1");
    }

    @Test
    void aSteadyBodyThatNeverEndsIsCutOffAtTheDeadline() throws Exception {
        // 200 bytes a second is above the minimum rate; the deadline still ends it.
        try (Drip steady = Drip.start(port(), STEADY, PREFIX, 20, Duration.ofMillis(100))) {
            Drip.Answer answer = steady.answer(Duration.ofSeconds(30));
            assertThat(answer.status()).as(answer.body()).isEqualTo(408);
            assertThat(answer.body()).contains("longer than 6s");
            assertThat(answer.after()).isBetween(TIMEOUT, TIMEOUT.plus(SLACK));
        }
        assertNothingRecordedAndConnectionsReturned("steady");
    }

    @Test
    void aClientWithTooManyOpenSubmissionsGets429() throws Exception {
        try (Drip one = Drip.start(port(), SLOW_2, PREFIX, 1, Duration.ofSeconds(1));
             Drip two = Drip.start(port(), SLOW_2, PREFIX, 1, Duration.ofSeconds(1))) {
            await().atMost(Duration.ofSeconds(1)).until(() -> openCopies() >= 2);
            Procq.Response third = procq.post("/api/v1/batches", "application/json",
                    "{\"type\": \"echo\", \"targets\": [\"third\"]}", Map.of("Authorization", "Bearer " + SLOW_2));
            assertThat(third.status()).as(third.body()).isEqualTo(429);
            assertThat(third.header("Retry-After")).isEqualTo("2");
            assertThat(third.json().get("error").asText()).contains("PROCQ_SUBMISSIONS_PER_CLIENT");
            // Another client is not held back by this one's limit.
            assertThat(procq.post("/api/v1/batches", "application/json", "{\"type\": \"echo\", \"targets\": [\"other\"]}",
                    Map.of("Authorization", "Bearer " + FAST)).status()).isEqualTo(202);
            one.answer(Duration.ofSeconds(20));
            two.answer(Duration.ofSeconds(20));
        }
        // Once they are cut off, the client may submit again.
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(procq.post("/api/v1/batches", "application/json",
                "{\"type\": \"echo\", \"targets\": [\"later\"]}", Map.of("Authorization", "Bearer " + SLOW_2)).status()).isEqualTo(202));
    }

    static void assertNothingRecordedAndConnectionsReturned(String... owners) {
        for (String owner : owners) {
            long batches = postgres.database().jdbi().withHandle(handle -> handle.createQuery(
                    // (the batch aClientWithTooManyOpenSubmissionsGets429 submits at its end is not a drip's)
                    """
                    SELECT count(*) FROM procq.batch b WHERE owner = :owner
                       AND NOT EXISTS (SELECT 1 FROM procq.job j WHERE j.batch_id = b.id AND j.target = 'later')""")
                    .bind("owner", owner).mapTo(Long.class).one());
            assertThat(batches).as("batches of " + owner).isZero();
        }
        long trickled = postgres.database().jdbi().withHandle(handle -> handle.createQuery(
                "SELECT count(*) FROM procq.job WHERE target IN ('first', 'second')").mapTo(Long.class).one());
        assertThat(trickled).isZero();
        // The COPYs were cancelled and their transactions rolled back: no session is left inside one.
        await().atMost(Duration.ofSeconds(5)).until(() -> openCopies() == 0 && idleInTransaction() == 0);
    }

    static long openCopies() {
        return postgres.database().jdbi().withHandle(handle -> handle.createQuery("""
                SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'COPY procq.job%'
                   AND state = 'active'""").mapTo(Long.class).one());
    }

    static long idleInTransaction() {
        return postgres.database().jdbi().withHandle(handle -> handle.createQuery("""
                SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'""")
                .mapTo(Long.class).one());
    }

    static int port() {
        return URI.create(procq.baseUrl()).getPort();
    }

    /**
     * A raw-socket client that sends the head and {@code prefix} at once, then {@code bytesPerTick}
     * bytes every {@code tick} (none: silence) of a body it claims is 10 MB, and notes when the
     * server answers or drops it.
     */
    static final class Drip implements AutoCloseable {
        record Answer(int status, String body, Duration after) {
        }

        private final Socket socket;
        private final long startedNanos;
        private final CompletableFuture<Answer> answer = new CompletableFuture<>();
        private final Thread writer;

        private Drip(Socket socket, long startedNanos, Thread writer) {
            this.socket = socket;
            this.startedNanos = startedNanos;
            this.writer = writer;
        }

        static Drip start(int port, String token, String prefix, int bytesPerTick, Duration tick) throws IOException {
            Socket socket = new Socket();
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            String head = "POST /api/v1/batches HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAuthorization: Bearer " + token
                    + "\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n";
            OutputStream out = socket.getOutputStream();
            out.write((head + prefix).getBytes(StandardCharsets.UTF_8));
            out.flush();
            long started = System.nanoTime();
            Thread writer = new Thread(() -> {
                try {
                    while (!Thread.currentThread().isInterrupted()) {
                        // The client's own pace, not a synchronisation: this is what a slow client does.
                        Thread.sleep(tick.toMillis());
                        if (bytesPerTick > 0) {
                            out.write("x".repeat(bytesPerTick).getBytes(StandardCharsets.UTF_8));
                            out.flush();
                        }
                    }
                } catch (IOException | InterruptedException e) {
                    // cut off, or closed by the test
                }
            }, "slow-client-writer");
            writer.setDaemon(true);
            Drip drip = new Drip(socket, started, writer);
            Thread reader = new Thread(drip::read, "slow-client-reader");
            reader.setDaemon(true);
            reader.start();
            writer.start();
            return drip;
        }

        private void read() {
            try {
                InputStream in = socket.getInputStream();
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                byte[] buffer = new byte[8192];
                int n;
                long firstByte = -1;
                while ((n = in.read(buffer)) >= 0) {
                    if (firstByte < 0) firstByte = System.nanoTime();
                    all.write(buffer, 0, n);
                    String text = all.toString(StandardCharsets.UTF_8);
                    int end = text.indexOf("\r\n\r\n");
                    if (end >= 0 && text.contains("}")) break; // a small JSON answer: complete enough
                }
                long at = firstByte < 0 ? System.nanoTime() : firstByte;
                String text = all.toString(StandardCharsets.UTF_8);
                int status = text.startsWith("HTTP/1.1 ") ? Integer.parseInt(text.substring(9, 12)) : -1;
                answer.complete(new Answer(status, text, Duration.ofNanos(at - startedNanos)));
            } catch (IOException e) {
                answer.complete(new Answer(-1, e.toString(), Duration.ofNanos(System.nanoTime() - startedNanos)));
            }
        }

        Answer answer(Duration timeout) throws Exception {
            return answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() {
            writer.interrupt();
            try {
                socket.close();
            } catch (IOException ignored) {
                // already gone
            }
        }
    }
}
