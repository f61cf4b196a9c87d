-- Cancel one batch: its PENDING jobs become CANCELLED now, and every worker running one of its
-- jobs stops the child within a second or two (the NOTIFY tells them at once; they also check
-- every second). Finished jobs keep their result. What POST /api/v1/batches/{id}/cancel and
-- `procq cancel` do.
--
--   psql "$DB" -v batch=42 -f db/ops/cancel-batch.sql
\set ON_ERROR_STOP on
\if :{?batch}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the batch: psql -v batch=BATCH_ID -f db/ops/cancel-batch.sql'; END $$;
\endif

BEGIN;

-- Jobs first, then the batch row: the lock order of claims and completions.
WITH cancelled AS (
    UPDATE procq.job SET state = 'CANCELLED', finished_at = now(), error = 'cancelled'
     WHERE batch_id = :'batch'::bigint AND state = 'PENDING'
    RETURNING id
)
SELECT count(*) AS cancelled_pending FROM cancelled;

UPDATE procq.batch SET cancel_requested = true WHERE id = :'batch'::bigint;

SELECT b.id AS told_workers_to_stop_batch
  FROM procq.batch b, LATERAL pg_notify('procq_jobs', 'cancel:' || b.id)
 WHERE b.id = :'batch'::bigint;

COMMIT;

SELECT id, type, state, total, ok, failed, running, pending, cancelled
  FROM procq.batch_progress WHERE id = :'batch'::bigint;
