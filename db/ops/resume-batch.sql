-- Resume a paused or halted batch: workers claim its jobs again at once (they are woken).
-- Lifting a halt starts its failure budget's count afresh. The same as POST /api/v1/batches/ID/resume.
-- To give it a fresh budget first: UPDATE procq.batch SET halt_failed = 500 WHERE id = 42;
--
--   psql "$DB" -v batch=42 -f db/ops/resume-batch.sql
\set ON_ERROR_STOP on
\if :{?batch}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the batch: psql -v batch=ID -f db/ops/resume-batch.sql'; END $$;
\endif

SELECT id, procq.resume_batch(id) AS state, pending FROM procq.batch WHERE id = :'batch'::bigint;
SELECT id, state, halt_reason, budget FROM procq.batch_progress WHERE id = :'batch'::bigint;
