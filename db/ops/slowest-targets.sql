-- The slowest targets: the longest attempts, with their outcome and the worker that ran them.
--
--   psql "$DB" -v batch=42 -f db/ops/slowest-targets.sql          in one batch
--   psql "$DB" -v type=thumbnail -f db/ops/slowest-targets.sql    of one type, last 24 hours
--   psql "$DB" -f db/ops/slowest-targets.sql                      of any type, last 24 hours
--   add -v limit=100 for more than 20
\set ON_ERROR_STOP on
\if :{?limit}
\else
  \set limit 20
\endif

\if :{?batch}
SELECT j.target, a.attempt, a.outcome, make_interval(secs => a.duration_ms / 1000.0) AS took,
       a.exit_code, a.worker_id, w.host, j.id AS job_id, a.finished_at
  FROM procq.job_attempt a
  JOIN procq.job j ON j.id = a.job_id
  LEFT JOIN procq.worker w ON w.id = a.worker_id
 WHERE j.batch_id = :'batch'::bigint
 ORDER BY a.duration_ms DESC
 LIMIT :'limit'::int;
\else
  \if :{?type}
  \else
    \set type ''
  \endif
SELECT j.target, j.type, a.attempt, a.outcome, make_interval(secs => a.duration_ms / 1000.0) AS took,
       a.exit_code, a.worker_id, w.host, j.batch_id, j.id AS job_id, a.finished_at
  FROM procq.job_attempt a
  JOIN procq.job j ON j.id = a.job_id
  LEFT JOIN procq.worker w ON w.id = a.worker_id
 WHERE a.finished_at > now() - interval '24 hours'
   AND (:'type' = '' OR j.type = :'type')
 ORDER BY a.duration_ms DESC
 LIMIT :'limit'::int;
\endif
