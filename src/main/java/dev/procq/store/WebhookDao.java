package dev.procq.store;

import java.util.List;
import java.util.UUID;
import org.jdbi.v3.sqlobject.config.RegisterConstructorMapper;
import org.jdbi.v3.sqlobject.customizer.Bind;
import org.jdbi.v3.sqlobject.statement.SqlQuery;
import org.jdbi.v3.sqlobject.statement.SqlUpdate;

/**
 * procq.webhook_delivery and procq.webhook_attempt: the outbox the batch trigger fills, and what its
 * senders do with it. Every write after the claim is fenced on {@code state = 'PENDING'}; a retry
 * is scheduled only by the sender whose claim still stands.
 */
public interface WebhookDao {
    /**
     * Takes at most {@code limit} due deliveries and leases them for {@code leaseMillis}: the row is
     * due again when the lease passes, so a sender that dies holding it loses nothing. Each row
     * carries what the request's body needs, read from its batch in the same statement.
     */
    @SqlQuery("""
            WITH due AS (
                SELECT id FROM procq.webhook_delivery
                 WHERE state = 'PENDING' AND next_attempt_at <= now()
                 ORDER BY next_attempt_at, id
                 LIMIT :limit FOR UPDATE SKIP LOCKED)
            UPDATE procq.webhook_delivery d
               SET attempts = d.attempts + 1, claim = :claim,
                   next_attempt_at = now() + :leaseMillis * interval '1 millisecond'
              FROM due, procq.batch b
             WHERE d.id = due.id AND b.id = d.batch_id
            RETURNING d.id, d.batch_id, d.event, d.url, d.attempts, d.created_at, d.state_since,
                      b.type, b.total, b.pending, b.running, b.ok, b.failed, b.cancelled,
                      b.created_at AS batch_created_at, b.started_at, b.finished_at, b.halt_reason""")
    @RegisterConstructorMapper(WebhookClaim.class)
    List<WebhookClaim> claimDue(@Bind("limit") int limit, @Bind("leaseMillis") long leaseMillis, @Bind("claim") UUID claim);

    /** One try, whatever came of it. */
    @SqlUpdate("""
            INSERT INTO procq.webhook_attempt (delivery_id, attempt, started_at, duration_ms, http_status, error, sender)
            VALUES (:delivery, :attempt, now() - :durationMs * interval '1 millisecond', :durationMs, :status, :error, :sender)""")
    int recordAttempt(@Bind("delivery") long deliveryId, @Bind("attempt") int attempt, @Bind("durationMs") long durationMs,
                      @Bind("status") Integer httpStatus, @Bind("error") String error, @Bind("sender") String sender);

    /** A 2xx answer: delivered, whoever holds the claim now (a receiver that saw it needs no second one). */
    @SqlQuery("""
            UPDATE procq.webhook_delivery SET state = 'DELIVERED', finished_at = now(), claim = NULL
             WHERE id = :id AND state = 'PENDING'
            RETURNING extract(epoch FROM now() - created_at)""")
    List<Double> markDelivered(@Bind("id") long id);

    /** A failed try: due again after {@code delayMillis}, unless another sender took the row meanwhile. */
    @SqlUpdate("""
            UPDATE procq.webhook_delivery
               SET next_attempt_at = now() + :delayMillis * interval '1 millisecond', last_error = :error, claim = NULL
             WHERE id = :id AND state = 'PENDING' AND claim = :claim""")
    int scheduleRetry(@Bind("id") long id, @Bind("claim") UUID claim, @Bind("delayMillis") long delayMillis,
                      @Bind("error") String error);

    /** No more tries: past the retry window, or the destination is no longer allowed. */
    @SqlUpdate("""
            UPDATE procq.webhook_delivery SET state = 'GAVE_UP', finished_at = now(), last_error = :error, claim = NULL
             WHERE id = :id AND state = 'PENDING' AND claim = :claim""")
    int giveUp(@Bind("id") long id, @Bind("claim") UUID claim, @Bind("error") String error);

    /** PENDING deliveries: the outbox's backlog, read from its partial index. */
    @SqlQuery("SELECT count(*) FROM procq.webhook_delivery WHERE state = 'PENDING'")
    long countPending();

    @SqlQuery("""
            SELECT id, batch_id, event, url, state, attempts, created_at, next_attempt_at, finished_at, last_error
              FROM procq.webhook_delivery WHERE batch_id = :batch ORDER BY id""")
    @RegisterConstructorMapper(WebhookDeliveryRow.class)
    List<WebhookDeliveryRow> listOfBatch(@Bind("batch") long batchId);

    @SqlQuery("""
            SELECT a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.http_status, a.error, a.sender
              FROM procq.webhook_attempt a JOIN procq.webhook_delivery d ON d.id = a.delivery_id
             WHERE d.batch_id = :batch ORDER BY a.delivery_id, a.started_at""")
    @RegisterConstructorMapper(WebhookAttemptRow.class)
    List<WebhookAttemptRow> attemptsOfBatch(@Bind("batch") long batchId);
}
