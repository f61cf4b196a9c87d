-- Run the FAILED targets of one batch again: they become PENDING with a fresh allowance of
-- attempts, and a cancelled batch is resumed. What POST /api/v1/batches/{id}/retry and
-- `procq retry` do, in one transaction.
--
--   psql "$DB" -v batch=42 -f db/ops/requeue-failures.sql
--   psql "$DB" -v batch=42 -v attempts=3 -f db/ops/requeue-failures.sql   (default: 1 more attempt)
\set ON_ERROR_STOP on
\if :{?batch}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the batch: psql -v batch=BATCH_ID -f db/ops/requeue-failures.sql'; END $$;
\endif
\if :{?attempts}
\else
  \set attempts 1
\endif

BEGIN;

-- Jobs first, then the batch row: the lock order of claims and completions.
WITH requeued AS (
    UPDATE procq.job
       SET state = 'PENDING', finished_at = NULL, run_at = now(), max_attempts = attempts + :'attempts'::int
     WHERE batch_id = :'batch'::bigint AND state = 'FAILED'
    RETURNING id
)
SELECT count(*) AS requeued FROM requeued;

UPDATE procq.batch SET cancel_requested = false WHERE id = :'batch'::bigint AND cancel_requested;

-- Wake idle workers now rather than at their next poll.
SELECT b.type AS woke_workers_of_type
  FROM procq.batch b, LATERAL pg_notify('procq_jobs', b.type)
 WHERE b.id = :'batch'::bigint;

COMMIT;

SELECT id, type, state, total, ok, failed, running, pending, cancelled
  FROM procq.batch_progress WHERE id = :'batch'::bigint;
