-- Operators' schema: every column of the views explained for \d+, Flyway's own table explained,
-- and the index retention walks.

-- Retention (worker/Pruner) looks for batches that finished before a cutoff, oldest first.
CREATE INDEX batch_finished_idx ON procq.batch (finished_at) WHERE finished_at IS NOT NULL;

-- procq.batch_progress ---------------------------------------------------------
COMMENT ON COLUMN procq.batch_progress.id IS 'Batch id (procq.batch.id).';
COMMENT ON COLUMN procq.batch_progress.type IS 'Job type of the batch.';
COMMENT ON COLUMN procq.batch_progress.state IS 'PENDING, RUNNING, DONE or CANCELLED.';
COMMENT ON COLUMN procq.batch_progress.priority IS 'Claim order across batches: lower runs first.';
COMMENT ON COLUMN procq.batch_progress.total IS 'Number of targets in the batch.';
COMMENT ON COLUMN procq.batch_progress.pending IS 'Jobs waiting to be claimed (including retries waiting for their backoff).';
COMMENT ON COLUMN procq.batch_progress.running IS 'Jobs a worker is running now.';
COMMENT ON COLUMN procq.batch_progress.ok IS 'Jobs that ended OK.';
COMMENT ON COLUMN procq.batch_progress.failed IS 'Jobs that ended FAILED after their last attempt.';
COMMENT ON COLUMN procq.batch_progress.cancelled IS 'Jobs cancelled before they finished.';
COMMENT ON COLUMN procq.batch_progress.percent_done IS 'Share of jobs in a final state (OK, FAILED, CANCELLED), 0 to 100, one decimal.';
COMMENT ON COLUMN procq.batch_progress.jobs_per_second IS 'Jobs finished (OK or FAILED) per second since the first claim; NULL before it.';
COMMENT ON COLUMN procq.batch_progress.eta IS 'Estimated time left at the rate so far; NULL before the first job finishes and once the batch is done.';
COMMENT ON COLUMN procq.batch_progress.created_at IS 'When the batch was recorded.';
COMMENT ON COLUMN procq.batch_progress.started_at IS 'When its first job was claimed.';
COMMENT ON COLUMN procq.batch_progress.finished_at IS 'When its last job reached a final state; NULL while any is PENDING or RUNNING.';

-- procq.recent_failures ---------------------------------------------------------
COMMENT ON COLUMN procq.recent_failures.job_id IS 'The failed job (procq.job.id).';
COMMENT ON COLUMN procq.recent_failures.batch_id IS 'Its batch.';
COMMENT ON COLUMN procq.recent_failures.type IS 'Its job type.';
COMMENT ON COLUMN procq.recent_failures.target IS 'The target that failed.';
COMMENT ON COLUMN procq.recent_failures.attempts IS 'Attempts it was given.';
COMMENT ON COLUMN procq.recent_failures.exit_code IS 'Exit code of the last attempt, if the program exited.';
COMMENT ON COLUMN procq.recent_failures.signal IS 'Signal that ended the last attempt, if any.';
COMMENT ON COLUMN procq.recent_failures.error IS 'Why the last attempt failed.';
COMMENT ON COLUMN procq.recent_failures.output_tail IS 'Last bytes of the last attempt''s stdout and stderr.';
COMMENT ON COLUMN procq.recent_failures.finished_at IS 'When the job was marked FAILED.';

-- procq.stuck_jobs ---------------------------------------------------------------
COMMENT ON COLUMN procq.stuck_jobs.job_id IS 'The RUNNING job (procq.job.id).';
COMMENT ON COLUMN procq.stuck_jobs.batch_id IS 'Its batch.';
COMMENT ON COLUMN procq.stuck_jobs.type IS 'Its job type.';
COMMENT ON COLUMN procq.stuck_jobs.target IS 'Its target.';
COMMENT ON COLUMN procq.stuck_jobs.attempts IS 'Attempts started so far, this one included.';
COMMENT ON COLUMN procq.stuck_jobs.worker_id IS 'Worker that holds the job (procq.worker.id).';
COMMENT ON COLUMN procq.stuck_jobs.host IS 'Host of that worker.';
COMMENT ON COLUMN procq.stuck_jobs.pid IS 'Process id of that worker on its host.';
COMMENT ON COLUMN procq.stuck_jobs.started_at IS 'When this attempt was claimed.';
COMMENT ON COLUMN procq.stuck_jobs.lease_expires_at IS 'When the lease runs or ran out.';
COMMENT ON COLUMN procq.stuck_jobs.running_for IS 'How long this attempt has been RUNNING.';
COMMENT ON COLUMN procq.stuck_jobs.why IS 'lease expired (the rescuer will return it to PENDING), worker stopped, or worker heartbeat late (over a minute).';

-- Flyway's history table lives in schema procq too -------------------------------
COMMENT ON TABLE  procq.flyway_schema_history IS 'Flyway: which db/migration scripts have been applied. Managed by procq migrate; do not edit.';
COMMENT ON COLUMN procq.flyway_schema_history.installed_rank IS 'Order in which the migration was applied.';
COMMENT ON COLUMN procq.flyway_schema_history.version IS 'Migration version (the V<n> of the file name).';
COMMENT ON COLUMN procq.flyway_schema_history.description IS 'Migration description (the rest of the file name).';
COMMENT ON COLUMN procq.flyway_schema_history.type IS 'Migration kind (SQL).';
COMMENT ON COLUMN procq.flyway_schema_history.script IS 'File name of the migration.';
COMMENT ON COLUMN procq.flyway_schema_history.checksum IS 'Checksum of the file when applied; a changed file fails validation.';
COMMENT ON COLUMN procq.flyway_schema_history.installed_by IS 'Database user that applied it.';
COMMENT ON COLUMN procq.flyway_schema_history.installed_on IS 'When it was applied.';
COMMENT ON COLUMN procq.flyway_schema_history.execution_time IS 'How long it took, in milliseconds.';
COMMENT ON COLUMN procq.flyway_schema_history.success IS 'Whether it succeeded.';
