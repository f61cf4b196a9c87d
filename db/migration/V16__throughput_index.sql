-- What the dashboard's throughput charts and the batch page's target search read.
--
-- Throughput ("jobs that ended OK or FAILED in each minute of the last hour", for one batch and
-- for the whole queue) counts procq.job rows by finished_at. No index had it: job_batch_state_idx
-- (batch_id, state, id) holds a batch's finished rows but not when they finished, so the chart
-- would read every finished row of the batch (a million, for a large one) to keep the last hour's;
-- queue-wide it would read every job kept. job_attempt_finished_idx (V14) counts attempts, not
-- jobs: a retried job would count once per attempt, and a batch's would be found only by reading
-- the whole queue's last hour. Both indexes here are partial on the two states the charts count,
-- so intake (every row PENDING) and claims (RUNNING) never write to them; a finish adds one entry
-- to each, next to the rightmost, as jobs end in time order. INCLUDE (state) lets the OK/FAILED
-- split come from the index alone once a page is all-visible. Figures: docs/dashboard.md.
CREATE INDEX job_batch_finished_idx ON procq.job (batch_id, finished_at) INCLUDE (state)
    WHERE state IN ('OK', 'FAILED');
COMMENT ON INDEX procq.job_batch_finished_idx IS 'A batch''s jobs ended OK or FAILED since a moment: GET /api/v1/batches/{id}/throughput (JobDao.throughputOfBatch).';

CREATE INDEX job_finished_idx ON procq.job (finished_at) INCLUDE (state)
    WHERE state IN ('OK', 'FAILED');
COMMENT ON INDEX procq.job_finished_idx IS 'Jobs of any batch ended OK or FAILED since a moment: GET /api/v1/throughput (JobDao.throughput).';

-- The search of a batch's jobs by target prefix (GET /api/v1/batches/{id}/jobs?target=) walks this
-- index over the matching range only. A target may be longer than a btree entry may be (about
-- 2.7 kB; PROCQ_MAX_TARGET_LENGTH allows far more), so the index holds the first 256 characters
-- (at most 1 kB) and a prefix is at most that long; text_pattern_ops makes LIKE 'prefix%' a range
-- in any database collation. This one is written at intake: one entry per target.
CREATE INDEX job_batch_target_idx ON procq.job (batch_id, left(target, 256) text_pattern_ops);
COMMENT ON INDEX procq.job_batch_target_idx IS 'A batch''s jobs whose target starts with a prefix of up to 256 characters (JobDao.listOfBatch with a target).';
