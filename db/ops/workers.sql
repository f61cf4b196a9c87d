-- Workers that are running (no clean stop recorded), with how many jobs each holds and the
-- port of each one's /metrics on its host (NULL: metrics off, or inside procq dev).
--
--   psql "$DB" -f db/ops/workers.sql
\set ON_ERROR_STOP on

SELECT w.id, w.host, w.pid, w.metrics_port, w.concurrency, array_to_string(w.types, ', ') AS types, w.started_at,
       date_trunc('second', now() - w.heartbeat_at) AS last_heartbeat,
       (SELECT count(*) FROM procq.job j WHERE j.state = 'RUNNING' AND j.worker_id = w.id) AS running
  FROM procq.worker w
 WHERE w.stopped_at IS NULL
 ORDER BY w.id;
