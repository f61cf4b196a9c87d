-- The most CPU-hungry targets of one batch: CPU time (user + system) summed over each target's
-- attempts, with the highest peak memory any attempt reached; then what the whole batch cost and
-- how many attempts were not measured (children started by the ProcessBuilder backend, or that
-- never started, leave cpu_user_ms, cpu_system_ms and max_rss_kb NULL; they are not counted as 0).
--
--   psql "$DB" -v batch=42 -f db/ops/cpu-hungry-targets.sql
--   psql "$DB" -v batch=42 -v limit=100 -f db/ops/cpu-hungry-targets.sql   (default: 20)
\set ON_ERROR_STOP on
\if :{?batch}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the batch: psql -v batch=BATCH_ID -f db/ops/cpu-hungry-targets.sql'; END $$;
\endif
\if :{?limit}
\else
  \set limit 20
\endif

SELECT j.target, j.id AS job_id, count(*) AS attempts_measured,
       sum(a.cpu_user_ms + a.cpu_system_ms) AS cpu_ms,
       sum(a.cpu_user_ms) AS user_ms, sum(a.cpu_system_ms) AS system_ms,
       round(max(a.max_rss_kb) / 1024.0, 1) AS peak_mib,
       j.state
  FROM procq.job j
  JOIN procq.job_attempt a ON a.job_id = j.id
 WHERE j.batch_id = :'batch'::bigint
   AND a.cpu_user_ms IS NOT NULL AND a.cpu_system_ms IS NOT NULL
 GROUP BY j.id
 ORDER BY cpu_ms DESC, j.id
 LIMIT :'limit'::int;

SELECT count(*) AS attempts,
       count(*) FILTER (WHERE a.cpu_user_ms IS NULL OR a.cpu_system_ms IS NULL) AS not_measured,
       sum(a.cpu_user_ms + a.cpu_system_ms) AS cpu_ms,
       round(max(a.max_rss_kb) / 1024.0, 1) AS peak_mib
  FROM procq.job j
  JOIN procq.job_attempt a ON a.job_id = j.id
 WHERE j.batch_id = :'batch'::bigint;
