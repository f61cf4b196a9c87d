-- procq.job_key_usage reads recent starts from the attempts, not from an index of its own.
--
-- job_started_key_idx (V11) held (type, started_at) for every job with a key, finished ones for
-- as long as they are kept: each keyed job wrote an entry into it at intake, at its claim and at
-- its finish (a state change is never a HOT update), for a view an operator reads now and then.
-- The view now takes the jobs RUNNING now from job_running_key_idx, and the attempts that
-- finished in the last minute from job_attempt_finished_idx (V14): every start of the last
-- minute, a retried job's earlier attempts included.
DROP INDEX procq.job_started_key_idx;

CREATE OR REPLACE VIEW procq.job_key_usage AS
SELECT s.type, s.key,
       count(*) FILTER (WHERE s.running) AS running,
       count(*) FILTER (WHERE s.started_at > now() - interval '1 minute') AS started_last_minute,
       round(count(*) FILTER (WHERE s.started_at > now() - interval '10 seconds') / 10.0, 1) AS starts_per_second
  FROM (SELECT j.type, j.key, true AS running, j.started_at
          FROM procq.job j
         WHERE j.state = 'RUNNING' AND j.key IS NOT NULL
        UNION ALL
        SELECT j.type, j.key, false, a.started_at
          FROM procq.job_attempt a
          JOIN procq.job j ON j.id = a.job_id
         WHERE a.finished_at > now() - interval '1 minute' AND a.started_at > now() - interval '1 minute'
           AND j.key IS NOT NULL) s
 GROUP BY s.type, s.key;
COMMENT ON VIEW procq.job_key_usage IS 'Each key (procq.job.key) with jobs running now or attempts started in the last minute: what key_concurrency and key_rate count. Keys leave a minute after their last attempt ends.';
COMMENT ON COLUMN procq.job_key_usage.started_last_minute IS 'Starts with this key in the last minute: jobs running now that started then, and attempts that started and ended then.';
COMMENT ON COLUMN procq.job_key_usage.starts_per_second IS 'Starts per second with this key over the last 10 seconds (held to key_rate).';
