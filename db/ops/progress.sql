-- Progress of the most recent batches: counts, percent done, rate and time left.
-- Reads procq.batch_progress, which reads the batch counters only: cheap at any size.
--
--   psql "$DB" -f db/ops/progress.sql                   the 20 newest batches
--   psql "$DB" -v limit=100 -f db/ops/progress.sql      more of them
--   psql "$DB" -v batch=42 -f db/ops/progress.sql       one batch
-- Inside psql: \set batch 42, then \i db/ops/progress.sql (\unset batch to list again).
\set ON_ERROR_STOP on
\if :{?limit}
\else
  \set limit 20
\endif

\if :{?batch}
SELECT id, type, state, total, ok, failed, running, pending, cancelled,
       percent_done AS "done %", jobs_per_second AS "jobs/s", date_trunc('second', eta) AS eta,
       created_at, started_at, finished_at
  FROM procq.batch_progress
 WHERE id = :'batch'::bigint;
\else
SELECT id, type, state, total, ok, failed, running, pending, cancelled,
       percent_done AS "done %", jobs_per_second AS "jobs/s", date_trunc('second', eta) AS eta,
       created_at
  FROM procq.batch_progress
 ORDER BY id DESC
 LIMIT :'limit'::int;
\endif
