-- Every job type: its live concurrency, cluster-wide limit and pause (what workers follow), and how much work
-- waits and runs, from the batch counters.
--
--   psql "$DB" -f db/ops/types.sql
\set ON_ERROR_STOP on

SELECT t.name, t.concurrency, t.paused, t.global_concurrency, t.updated_at,
       coalesce(sum(b.pending), 0) AS pending, coalesce(sum(b.running), 0) AS running,
       count(b.id) FILTER (WHERE b.finished_at IS NULL) AS open_batches
  FROM procq.job_type t
  LEFT JOIN procq.batch b ON b.type = t.name AND b.finished_at IS NULL
 GROUP BY t.name, t.concurrency, t.paused, t.global_concurrency, t.updated_at
 ORDER BY t.name;
