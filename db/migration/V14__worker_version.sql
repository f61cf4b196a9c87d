-- What the dashboard's workers and types pages need to answer from the database alone.
--
-- During a rolling upgrade, workers of two releases claim from one table; the operator needs to
-- see which run is which before stopping the old ones.
ALTER TABLE procq.worker ADD COLUMN version text CHECK (version IS NULL OR length(version) BETWEEN 1 AND 100);
COMMENT ON COLUMN procq.worker.version IS 'procq release the worker run is (Implementation-Version of its jar); NULL for a build run from classes rather than the jar, or a worker started before versions were recorded.';

-- Throughput per type ("attempts finished in the last minute", GET /api/v1/types) reads the
-- attempts of the last minute only. Without this index that is a scan of every attempt kept
-- (millions, for PROCQ_RETENTION's 7 days); with it, one range of an index whose inserts all land
-- on its rightmost page, as attempts are written in the order they end.
CREATE INDEX job_attempt_finished_idx ON procq.job_attempt (finished_at);
COMMENT ON INDEX procq.job_attempt_finished_idx IS 'Attempts ended since a moment: throughput per type (JobTypeDao.finishedLastMinuteByType).';
