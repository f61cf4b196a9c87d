-- A type's default failure budget, live in procq.job_type like its other limits: seeded from the
-- job-types file's halt, then steered by operators (UPDATE, or PATCH /api/v1/types/{name}). Intake
-- copies it onto each new batch whose submission gives no budget of its own; batches already
-- recorded keep theirs.
--
-- The checks are FailureBudget's own (config/FailureBudget.java), so every row the table accepts
-- is a budget intake can use.
--
-- Rows from before this migration cannot know the file's halt, so they start unseeded
-- (halt_seeded false): intake uses the file's budget for them until a worker or the API seeds the
-- row from the file once. Rows inserted from here on are seeded as they are inserted.

ALTER TABLE procq.job_type
    ADD COLUMN halt_failed         bigint           CHECK (halt_failed BETWEEN 1 AND 1000000000000),
    ADD COLUMN halt_failed_percent double precision CHECK (halt_failed_percent > 0 AND halt_failed_percent <= 100),
    ADD COLUMN halt_after          bigint           CHECK (halt_after BETWEEN 1 AND 1000000000000),
    ADD COLUMN halt_in_a_row       bigint           CHECK (halt_in_a_row BETWEEN 1 AND 1000000000000),
    ADD COLUMN halt_seeded         boolean          NOT NULL DEFAULT false,
    ADD CONSTRAINT job_type_halt_percent_needs_after CHECK ((halt_failed_percent IS NULL) = (halt_after IS NULL));
ALTER TABLE procq.job_type ALTER COLUMN halt_seeded SET DEFAULT true;

COMMENT ON COLUMN procq.job_type.halt_failed IS 'Default failure budget of the type''s new batches: halt once this many targets FAILED (procq.batch.halt_failed); NULL for no such rule. Seeded from the file''s halt; afterwards this row wins. Batches already recorded keep the budget they got.';
COMMENT ON COLUMN procq.job_type.halt_failed_percent IS 'Default failure budget: halt once this share (0 to 100) of the finished targets FAILED, counted from halt_after finished on (procq.batch.halt_failed_percent); NULL for no such rule.';
COMMENT ON COLUMN procq.job_type.halt_after IS 'How many targets must have finished before halt_failed_percent applies; set exactly when halt_failed_percent is.';
COMMENT ON COLUMN procq.job_type.halt_in_a_row IS 'Default failure budget: halt once this many targets FAILED with no OK in between (procq.batch.halt_in_a_row); NULL for no such rule.';
COMMENT ON COLUMN procq.job_type.halt_seeded IS 'true: the halt_* columns are the type''s default budget (all NULL: none). false only for a row from before they existed: the file''s halt applies until a worker or the API copies it here.';
COMMENT ON COLUMN procq.job_type.updated_at IS 'When concurrency, paused, a limit or the default failure budget last changed.';
