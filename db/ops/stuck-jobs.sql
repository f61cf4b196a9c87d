-- Jobs that look stuck, and the workers that have gone quiet.
-- A job whose lease expired goes back to PENDING by itself (any worker's rescuer, within
-- seconds); one held by a worker with a late heartbeat follows once its lease runs out.
--
--   psql "$DB" -f db/ops/stuck-jobs.sql
\set ON_ERROR_STOP on

SELECT job_id, batch_id, type, target, attempts, worker_id, host, pid,
       date_trunc('second', running_for) AS running_for, lease_expires_at, why
  FROM procq.stuck_jobs
 ORDER BY started_at;

SELECT id AS worker_id, host, pid, date_trunc('second', now() - heartbeat_at) AS silent_for, started_at,
       (SELECT count(*) FROM procq.job j WHERE j.state = 'RUNNING' AND j.worker_id = w.id) AS holds_jobs
  FROM procq.worker w
 WHERE stopped_at IS NULL AND heartbeat_at < now() - interval '1 minute'
 ORDER BY heartbeat_at;
