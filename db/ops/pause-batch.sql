-- Pause a batch: no worker claims its jobs from its next claim on; running children finish and
-- PENDING jobs wait. Resume with resume-batch.sql. The same as POST /api/v1/batches/ID/pause.
--
--   psql "$DB" -v batch=42 -f db/ops/pause-batch.sql
\set ON_ERROR_STOP on
\if :{?batch}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the batch: psql -v batch=ID -f db/ops/pause-batch.sql'; END $$;
\endif

-- PAUSED (or HALTED, which it stays); DONE or CANCELLED: nothing to pause; no row: no such batch.
SELECT id, procq.pause_batch(id) AS state, running, pending FROM procq.batch WHERE id = :'batch'::bigint;
