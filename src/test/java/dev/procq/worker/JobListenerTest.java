package dev.procq.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.procq.config.Settings.DatabaseTarget;
import dev.procq.store.Database;
import dev.procq.config.DatabaseTimeouts;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.SilentProxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The worker's LISTEN connection: notifications arrive, and a server that falls silent is left for a new connection. */
class JobListenerTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final DatabaseTimeouts SHORT =
            new DatabaseTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(1));

    @Test
    void aListenerWhoseServerFallsSilentConnectsAgain() throws Exception {
        DatabaseTarget direct = postgres.target();
        Jdbi jdbi = postgres.database().jdbi();
        List<String> heard = new CopyOnWriteArrayList<>();
        try (SilentProxy proxy = SilentProxy.inFrontOf(direct.jdbcUrl());
             Database throughProxy = new Database(new DatabaseTarget(proxy.rewrite(direct.jdbcUrl()), direct.user(),
                     direct.password()), "listen-test", 1, SHORT)) {
            JobListener listener = new JobListener(throughProxy, heard::add, Duration.ofMillis(500));
            Thread thread = new Thread(listener, "listener-test");
            thread.setDaemon(true);
            thread.start();
            try {
                // Connected: it wakes the worker once, and hears what is announced.
                await().atMost(Duration.ofSeconds(10)).until(() -> listening(jdbi) == 1 && heard.contains(""));
                jdbi.useHandle(h -> h.execute("SELECT pg_notify('procq_jobs', 'before')"));
                await().atMost(Duration.ofSeconds(5)).until(() -> heard.contains("before"));

                // Nothing is closed and nothing comes back: only its own check can tell.
                proxy.drop();
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                        .until(() -> listening(jdbi) == 0);
                proxy.heal();
                await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(100))
                        .until(() -> listening(jdbi) == 1);
                jdbi.useHandle(h -> h.execute("SELECT pg_notify('procq_jobs', 'after')"));
                await().atMost(Duration.ofSeconds(5)).until(() -> heard.contains("after"));
                assertThat(heard.stream().filter(String::isEmpty).count()).as("a wake-up per connection").isEqualTo(2);
            } finally {
                listener.stop();
                thread.join(10_000);
            }
        }
    }

    static long listening(Jdbi jdbi) {
        return jdbi.withHandle(h -> h.createQuery("""
                SELECT count(*) FROM pg_stat_activity
                 WHERE application_name = 'procq-listen' AND datname = current_database()""").mapTo(Long.class).one());
    }
}
