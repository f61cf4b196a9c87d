-- Claims and results never wait for their batch's row. Every statement that changes jobs used to
-- update its batch's counters in place, so the round trips of several workers on one batch took
-- turns on that row, each holding it until it committed (B9 in docs/benchmarks.md). Now a
-- statement whose changes all take jobs into or out of RUNNING (claims, results, rescues,
-- hand-backs) and fail no target updates the row when no other transaction holds it, and
-- otherwise records its change here (a result that fails a target still waits for the row: the
-- failure budget is judged on the batch as it stands); the next statement that holds the row folds it in, and so does every worker's
-- periodic fold (procq.batch_fold_deltas, R__job_count_changes.sql).
CREATE TABLE procq.batch_delta (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id    bigint      NOT NULL,
    pending     bigint      NOT NULL,
    running     bigint      NOT NULL,
    ok          bigint      NOT NULL,
    failed      bigint      NOT NULL,
    cancelled   bigint      NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
-- No foreign key: its share lock on the batch row would make the statement wait for the very
-- transaction it steps around. A delta whose batch is deleted goes with it (batch_delete_jobs
-- below), or with the next periodic fold.
CREATE INDEX batch_delta_batch_idx ON procq.batch_delta (batch_id, id);
COMMENT ON TABLE procq.batch_delta IS 'Changes to procq.batch''s counters not yet folded into it: a claim, or a result that failed no target, written while another transaction held its batch''s row. Folded in, oldest first, by the next statement that holds the row and by every worker about once a second (procq.batch_fold_deltas()); usually empty. The counters of a batch with rows here lag by these changes.';
COMMENT ON COLUMN procq.batch_delta.id IS 'Order of recording: deltas are folded oldest first.';
COMMENT ON COLUMN procq.batch_delta.batch_id IS 'The batch (procq.batch.id) whose counters this changes.';
COMMENT ON COLUMN procq.batch_delta.pending IS 'Change to procq.batch.pending.';
COMMENT ON COLUMN procq.batch_delta.running IS 'Change to procq.batch.running.';
COMMENT ON COLUMN procq.batch_delta.ok IS 'Change to procq.batch.ok.';
COMMENT ON COLUMN procq.batch_delta.failed IS 'Change to procq.batch.failed; never positive in the rows the job trigger records (a failing result waits for the batch row), and one that is spends the failure budget when folded.';
COMMENT ON COLUMN procq.batch_delta.cancelled IS 'Change to procq.batch.cancelled.';
COMMENT ON COLUMN procq.batch_delta.recorded_at IS 'When the transaction that made the change began.';

CREATE OR REPLACE FUNCTION procq.batch_delete_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM procq.job WHERE batch_id IN (SELECT id FROM old_rows);
    DELETE FROM procq.batch_delta WHERE batch_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION procq.batch_delete_jobs() IS 'Statement trigger on procq.batch: deleting a batch deletes its jobs (and so their attempts) and its counter changes not yet folded in.';
