package dev.procq.intake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.procq.config.DatabaseTimeouts;
import dev.procq.store.Database;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Every statement has a statement timeout, but the COPY of a batch lasts as long as its upload:
 * it gets a timeout of its own, sized to the largest batch allowed.
 */
class CopyTimeoutTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final DatabaseTimeouts SHORT =
            new DatabaseTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofMillis(500));

    @Test
    void anUploadLongerThanTheStatementTimeoutIsStillTakenInWhole() throws Exception {
        try (Database database = new Database(postgres.target(), "short", 4, SHORT);
             Procq procq = new Procq(postgres, database, "types:\n  echo:\n    command: [\"echo\", \"{target}\"]\n",
                     Map.of()).startApi()) {
            // 25 targets over 2.5 s: more than twice the sessions' statement timeout.
            InputStream trickle = new InputStream() {
                int line;
                byte[] pending = new byte[0];
                int at;

                @Override
                public int read() {
                    if (at == pending.length) {
                        if (line == 25) return -1;
                        try {
                            Thread.sleep(100);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return -1;
                        }
                        pending = ("target-" + line++ + "\n").getBytes(StandardCharsets.UTF_8);
                        at = 0;
                    }
                    return pending[at++];
                }

                @Override
                public int read(byte[] buffer, int offset, int length) {
                    int first = read();
                    if (first < 0) return -1;
                    buffer[offset] = (byte) first;
                    int count = 1;
                    while (count < length && at < pending.length) buffer[offset + count++] = pending[at++];
                    return count;
                }
            };
            HttpRequest request = HttpRequest.newBuilder(URI.create(procq.baseUrl() + "/api/v1/batches?type=echo"))
                    .header("Content-Type", "text/plain")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> trickle)).build();
            HttpResponse<String> response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());

            assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
            assertThat(Procq.JSON.readTree(response.body()).get("total").asInt()).isEqualTo(25);
            // The longer timeout was the COPY's transaction's alone: the pool's sessions keep theirs.
            assertThatThrownBy(() -> database.jdbi().useHandle(h -> h.execute("SELECT pg_sleep(3)")))
                    .hasMessageContaining("statement timeout");
        }
    }

    @Test
    void theCopyGetsOneSecondPer20000TargetsOfTheLargestBatchAndNeverLessThanTheStatementTimeout() {
        assertThat(Intake.copyTimeout(5_000_000, Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(250));
        assertThat(Intake.copyTimeout(1_000, Duration.ofSeconds(30))).isEqualTo(Duration.ofSeconds(30));
        assertThat(Intake.copyTimeout(100_000, Duration.ofSeconds(2))).isEqualTo(Duration.ofSeconds(5));
    }
}
