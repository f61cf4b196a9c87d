-- A page of a batch's jobs in any state (GET /api/v1/batches/{id}/jobs without state=, the first
-- thing the dashboard's batch page shows) is "this batch's rows after id N in id order". No index
-- had that order for one batch: job_batch_state_idx (batch_id, state, id) has it per state only,
-- so PostgreSQL walked the primary key from N and filtered on the batch, reading every row of
-- every older batch first. With 1,000,000 finished rows in the table a page of the newest batch
-- read 490,000 rows (96 ms); with 10,000,000 it grows tenfold (B10 in docs/benchmarks.md). This
-- index gives the page its own range. Intake writes one entry per target, next to the rightmost
-- (ids grow), and nothing else ever changes it: batch_id and id never change.
CREATE INDEX job_batch_id_idx ON procq.job (batch_id, id);
COMMENT ON INDEX procq.job_batch_id_idx IS 'A batch''s jobs in id order from a given id: JobDao.listOfBatch without a state (the batch page).';
