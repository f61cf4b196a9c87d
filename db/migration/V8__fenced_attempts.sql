-- A worker that cannot renew a lease ends the child before the lease can run out; that attempt
-- is recorded LOST like one whose spawn helper died: not the target's fault, not counted.
COMMENT ON COLUMN procq.job_attempt.outcome IS 'OK, FAILED (non-zero exit or signal), TIMEOUT, SPAWN_FAILED (program not found...), STOPPED (cancel or shutdown), LEASE_EXPIRED (worker lost), LOST (the worker''s spawn helper died while the child ran, or the worker ended the child at its lease deadline because it could not renew the lease in time; not counted against maxAttempts).';
