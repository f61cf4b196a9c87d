-- Webhooks on batch end, through a transactional outbox.
--
-- A batch may name a webhook (procq.batch.webhook_url, one of the operator's allowlisted
-- destinations, resolved at intake). When its state becomes DONE, CANCELLED or HALTED, a row
-- trigger on procq.batch inserts a procq.webhook_delivery row in the same transaction as the
-- change: the counter trigger's UPDATE (DONE, HALTED), the cancel, or an operator's UPDATE from
-- psql. So a committed state change always has its delivery, and a rolled-back one never has.
--
-- Senders in every API and worker process claim due rows with FOR UPDATE SKIP LOCKED and take a
-- lease by moving next_attempt_at past the request's timeout: a sender that dies mid-send leaves
-- the row due again once the lease passes, and another sender (or the restarted one) sends it,
-- with the same delivery id. Each try is a procq.webhook_attempt row.

ALTER TABLE procq.batch ADD COLUMN webhook_url text;
COMMENT ON COLUMN procq.batch.webhook_url IS 'Where procq POSTs a signed summary when the batch becomes DONE, CANCELLED or HALTED (a URL from PROCQ_WEBHOOK_ALLOWLIST, resolved at intake); NULL for none.';

CREATE TABLE procq.webhook_delivery (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id        bigint      NOT NULL REFERENCES procq.batch (id) ON DELETE CASCADE,
    event           text        NOT NULL CHECK (event IN ('DONE', 'CANCELLED', 'HALTED')),
    state_since     timestamptz NOT NULL,
    url             text        NOT NULL,
    state           text        NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'DELIVERED', 'GAVE_UP')),
    attempts        int         NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at      timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    last_error      text,
    claim           uuid,
    CONSTRAINT webhook_delivery_finished_when_final CHECK ((finished_at IS NOT NULL) = (state <> 'PENDING')),
    -- One delivery each time a batch enters an end state: DONE after a retry, or HALTED after a
    -- resume, is a new entry and a new delivery; a second firing for the same entry is not.
    CONSTRAINT webhook_delivery_once UNIQUE (batch_id, event, state_since)
);
COMMENT ON TABLE procq.webhook_delivery IS 'The webhook outbox: one row each time a batch with a webhook became DONE, CANCELLED or HALTED, inserted in the transaction of that change; senders in the API and worker processes deliver it at least once.';
COMMENT ON COLUMN procq.webhook_delivery.id IS 'Delivery id, sent as the Procq-Delivery header and the body''s deliveryId: the same on every retry, so a receiver drops duplicates by it.';
COMMENT ON COLUMN procq.webhook_delivery.batch_id IS 'The batch that ended (procq.batch.id); deleted with it by retention.';
COMMENT ON COLUMN procq.webhook_delivery.event IS 'The state the batch entered: DONE, CANCELLED or HALTED.';
COMMENT ON COLUMN procq.webhook_delivery.state_since IS 'When the batch entered that state (its finished_at, halted_at, or the time of the cancel); with batch_id and event, one delivery per entry.';
COMMENT ON COLUMN procq.webhook_delivery.url IS 'The destination, copied from procq.batch.webhook_url; checked against PROCQ_WEBHOOK_ALLOWLIST again before each try.';
COMMENT ON COLUMN procq.webhook_delivery.state IS 'PENDING (to be sent, or being sent), DELIVERED (a 2xx answer) or GAVE_UP (no 2xx within a day of tries, or the destination left the allowlist).';
COMMENT ON COLUMN procq.webhook_delivery.attempts IS 'Tries so far (procq.webhook_attempt rows, plus any cut short by a crash).';
COMMENT ON COLUMN procq.webhook_delivery.created_at IS 'When the batch''s state change committed this row.';
COMMENT ON COLUMN procq.webhook_delivery.next_attempt_at IS 'When a sender may take it next: the retry time after a failure, or the end of the lease of the sender that took it.';
COMMENT ON COLUMN procq.webhook_delivery.finished_at IS 'When it was DELIVERED or given up; NULL while PENDING.';
COMMENT ON COLUMN procq.webhook_delivery.last_error IS 'What the last failed try got: an HTTP status or an error; NULL before the first failure.';
COMMENT ON COLUMN procq.webhook_delivery.claim IS 'The sender''s token for its current try; a retry is scheduled only by the sender that still holds it.';

-- What senders look for: PENDING rows by due time.
CREATE INDEX webhook_delivery_due_idx ON procq.webhook_delivery (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX webhook_delivery_batch_idx ON procq.webhook_delivery (batch_id);

CREATE TABLE procq.webhook_attempt (
    delivery_id bigint      NOT NULL REFERENCES procq.webhook_delivery (id) ON DELETE CASCADE,
    attempt     int         NOT NULL CHECK (attempt > 0),
    started_at  timestamptz NOT NULL,
    duration_ms bigint      NOT NULL CHECK (duration_ms >= 0),
    http_status int,
    error       text,
    sender      text        NOT NULL,
    PRIMARY KEY (delivery_id, attempt, started_at)
);
COMMENT ON TABLE procq.webhook_attempt IS 'One row per webhook request a sender made (or could not make): when, the HTTP status or the error, and how long it took.';
COMMENT ON COLUMN procq.webhook_attempt.delivery_id IS 'The delivery (procq.webhook_delivery.id).';
COMMENT ON COLUMN procq.webhook_attempt.attempt IS 'Which try of the delivery, from 1.';
COMMENT ON COLUMN procq.webhook_attempt.started_at IS 'When the request started.';
COMMENT ON COLUMN procq.webhook_attempt.duration_ms IS 'From the request''s start to its answer or error, in milliseconds.';
COMMENT ON COLUMN procq.webhook_attempt.http_status IS 'The receiver''s HTTP status; NULL when no answer came (refused, reset, timed out).';
COMMENT ON COLUMN procq.webhook_attempt.error IS 'Why the try failed when it did without a status, or the status''s reason; NULL for a 2xx.';
COMMENT ON COLUMN procq.webhook_attempt.sender IS 'The process that sent it: component, host and pid, e.g. worker@host:4242.';

-- The trigger: an end state entered, with a webhook, is a delivery.
CREATE FUNCTION procq.batch_webhook_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO procq.webhook_delivery (batch_id, event, state_since, url)
    VALUES (NEW.id, NEW.state,
            CASE NEW.state WHEN 'DONE' THEN NEW.finished_at WHEN 'HALTED' THEN NEW.halted_at ELSE now() END,
            NEW.webhook_url)
    ON CONFLICT ON CONSTRAINT webhook_delivery_once DO NOTHING;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION procq.batch_webhook_outbox() IS 'Row trigger on procq.batch: when a batch with a webhook_url enters DONE, CANCELLED or HALTED, records its delivery in procq.webhook_delivery in the same transaction.';

CREATE TRIGGER batch_webhook_outbox
    AFTER UPDATE ON procq.batch
    FOR EACH ROW
    WHEN (NEW.webhook_url IS NOT NULL AND NEW.state IN ('DONE', 'CANCELLED', 'HALTED')
          AND OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION procq.batch_webhook_outbox();
