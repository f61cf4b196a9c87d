-- What each attempt cost the host, and the outcome for a child whose spawn helper died.
--
-- The worker's spawn helper reaps every child with wait4(), which hands back the child's
-- rusage: CPU time in user mode and in the kernel, and its peak resident memory. They are
-- kept per attempt so an operator can find the targets that are expensive to process
-- (SELECT target, cpu_user_ms FROM procq.job_attempt JOIN procq.job ...) without a profiler.
-- Children started through the ProcessBuilder backend leave them NULL: Java does not report them.

ALTER TABLE procq.job_attempt
    ADD COLUMN cpu_user_ms   bigint CHECK (cpu_user_ms >= 0),
    ADD COLUMN cpu_system_ms bigint CHECK (cpu_system_ms >= 0),
    ADD COLUMN max_rss_kb    bigint CHECK (max_rss_kb >= 0);

COMMENT ON COLUMN procq.job_attempt.cpu_user_ms IS 'CPU time the child (and the descendants it waited for) spent in user mode, in milliseconds; NULL when the backend that ran it cannot tell.';
COMMENT ON COLUMN procq.job_attempt.cpu_system_ms IS 'CPU time the kernel spent on behalf of the child (and the descendants it waited for), in milliseconds; NULL when unknown.';
COMMENT ON COLUMN procq.job_attempt.max_rss_kb IS 'Peak resident memory of the child, in kilobytes, as wait4 reports it; NULL when unknown.';

ALTER TABLE procq.job_attempt DROP CONSTRAINT job_attempt_outcome_check;
ALTER TABLE procq.job_attempt ADD CONSTRAINT job_attempt_outcome_check
    CHECK (outcome IN ('OK', 'FAILED', 'TIMEOUT', 'SPAWN_FAILED', 'STOPPED', 'LEASE_EXPIRED', 'LOST'));
COMMENT ON COLUMN procq.job_attempt.outcome IS 'OK, FAILED (non-zero exit or signal), TIMEOUT, SPAWN_FAILED (program not found...), STOPPED (cancel or shutdown), LEASE_EXPIRED (worker lost), LOST (the worker''s spawn helper died while the child ran; not counted against maxAttempts).';
