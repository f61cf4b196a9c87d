-- Failed targets with why: the error and the last lines of the last attempt's output.
--
--   psql "$DB" -f db/ops/failures.sql                   failures of the last 24 hours, all batches
--   psql "$DB" -v batch=42 -f db/ops/failures.sql       every failure of batch 42
--   psql "$DB" -v batch=42 -v limit=500 -f db/ops/failures.sql
-- \x (expanded display) reads best when outputs are long.
\set ON_ERROR_STOP on
\if :{?limit}
\else
  \set limit 50
\endif

\if :{?batch}
SELECT j.id AS job_id, j.target, j.attempts, j.exit_code, j.signal, j.error,
       right(a.output_tail, 500) AS output_tail, j.finished_at
  FROM procq.job j
  LEFT JOIN procq.job_attempt a ON a.job_id = j.id AND a.attempt = j.attempts
 WHERE j.batch_id = :'batch'::bigint AND j.state = 'FAILED'
 ORDER BY j.id
 LIMIT :'limit'::int;
\else
SELECT job_id, batch_id, type, target, attempts, exit_code, signal, error,
       right(output_tail, 500) AS output_tail, finished_at
  FROM procq.recent_failures
 LIMIT :'limit'::int;
\endif
