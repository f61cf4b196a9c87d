package dev.procq.store;

import java.time.OffsetDateTime;
import java.util.List;

/**
 * One worker run as the workers page shows it.
 *
 * @param version             its procq release; null for a build run from classes
 * @param metricsPort         where it serves /metrics on its host; null when it serves none
 * @param stoppedAt           when it shut down cleanly; null while it runs, or after a crash
 * @param hostHold            why it holds new starts (memory, load, pressure) as of its last heartbeat; null: it does not
 * @param heartbeatAgeSeconds seconds since its last heartbeat, by the database's clock (so a
 *                            browser or API host with another clock reads the same age)
 * @param running             RUNNING jobs it holds now
 */
public record WorkerRow(long id, String host, long pid, String version, Integer metricsPort, int concurrency,
                        List<String> types, OffsetDateTime startedAt, OffsetDateTime heartbeatAt,
                        OffsetDateTime stoppedAt, String hostHold, double heartbeatAgeSeconds, long running) {
}
