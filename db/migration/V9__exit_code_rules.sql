-- Exit-code rules per type, and which rule decided each attempt.
--
-- A type's exitCodes (job-types file) say which exit codes are OK, which fail the job at once
-- (curl's 3, a malformed URL, fails the same way every time: retrying it only burns attempts),
-- which retry, and whether a timeout or a signal retries. Every attempt a worker ends records
-- the rule that decided it, so "why was this not retried?" is answered by the row itself.
--
-- The rules are the file's unless an operator sets procq.job_type.exit_codes; workers read it
-- with concurrency and paused, every 2 s. NULL (the default) follows the file, so a changed
-- file takes effect at the workers' next start without anyone touching the table.

ALTER TABLE procq.job_attempt ADD COLUMN decided_by text;
COMMENT ON COLUMN procq.job_attempt.decided_by IS 'The exit-code rule that decided the attempt''s outcome, e.g. ''ok: exit 1'', ''failNow: exit 3'', ''retry: exit 7'', ''no retry: exit 5'' (a retry list is given and 5 is not in it), ''default: exit 1'' (no rule names the code: it retries), ''retry: timeout'', ''no retry: signal 9'', ''no retry: no command for this target'' (a {meta.NAME} the job lacks); NULL when no rule applied (STOPPED, LOST, LEASE_EXPIRED, attempts written before the rules existed).';

ALTER TABLE procq.job_type ADD COLUMN exit_codes jsonb
    CHECK (exit_codes IS NULL OR jsonb_typeof(exit_codes) = 'object');
COMMENT ON COLUMN procq.job_type.exit_codes IS 'The operator''s exit-code rules for this type, overriding the file''s exitCodes; the same shape: {"ok": [0, 1], "failNow": [3, 6], "retry": [7, 28], "retryOnTimeout": true, "retryOnSignal": true}, ranges as "64-78". NULL (the default): the job-types file''s rules. Workers read it within seconds; one they cannot parse is ignored (the file''s rules apply) and logged.';
