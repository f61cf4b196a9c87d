-- Every job type: its live concurrency, cluster-wide limit and pause (what workers follow), the failure
-- budget its new batches get, and how much work waits and runs, from the batch counters; held_batches
-- are its PAUSED and HALTED ones.
--
--   psql "$DB" -f db/ops/types.sql
\set ON_ERROR_STOP on

SELECT t.name, t.concurrency, t.paused, t.global_concurrency, t.updated_at,
       coalesce(sum(b.pending), 0) AS pending, coalesce(sum(b.running), 0) AS running,
       count(b.id) FILTER (WHERE b.finished_at IS NULL) AS open_batches,
       concat_ws(', ', 'failed ' || t.halt_failed,
                 'failedPercent ' || t.halt_failed_percent || ' after ' || t.halt_after,
                 'inARow ' || t.halt_in_a_row) AS halt,
       count(b.id) FILTER (WHERE b.state IN ('PAUSED', 'HALTED')) AS held_batches
  FROM procq.job_type t
  LEFT JOIN procq.batch b ON b.type = t.name AND b.finished_at IS NULL
 GROUP BY t.name, t.concurrency, t.paused, t.global_concurrency, t.updated_at,
          t.halt_failed, t.halt_failed_percent, t.halt_after, t.halt_in_a_row
 ORDER BY t.name;
