-- Exit-code rules per type, and which rule decided each attempt.
--
-- A type's exitCodes (job-types file) say which exit codes are OK, which fail the job at once
-- (curl's 3, a malformed URL, fails the same way every time: retrying it only burns attempts),
-- which retry, and whether a timeout or a signal retries. Every attempt a worker ends records
-- the rule that decided it, so "why was this not retried?" is answered by the row itself.

ALTER TABLE procq.job_attempt ADD COLUMN decided_by text;
COMMENT ON COLUMN procq.job_attempt.decided_by IS 'The exit-code rule that decided the attempt''s outcome, e.g. ''ok: exit 1'', ''failNow: exit 3'', ''retry: exit 7'', ''no retry: exit 5'' (a retry list is given and 5 is not in it), ''default: exit 1'' (no rule names the code: it retries), ''retry: timeout'', ''no retry: signal 9'', ''no retry: no command for this target'' (a {meta.NAME} the job lacks); NULL when no rule applied (STOPPED, LOST, LEASE_EXPIRED, attempts written before the rules existed).';
