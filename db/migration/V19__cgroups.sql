-- Cgroups per job: where the worker has a writable cgroup v2 subtree (PROCQ_CGROUP_ROOT, systemd's
-- Delegate=yes), its spawn helper runs each child in a cgroup of its own and reads it once the
-- job's last process is gone: cpu.stat (the CPU of every process that ran in it, also those
-- the child never waited for), memory.peak, and memory.events' oom_kill.
--
-- cpu_user_ms and cpu_system_ms keep their names and take cpu.stat's user_usec and system_usec
-- when the child had a cgroup: the same quantity, counted over the whole tree.

ALTER TABLE procq.job_attempt
    ADD COLUMN memory_peak_bytes bigint CHECK (memory_peak_bytes >= 0);

COMMENT ON COLUMN procq.job_attempt.memory_peak_bytes IS 'Peak memory of the child''s own cgroup (memory.peak: every process of the job together, page cache included), in bytes; NULL when the child ran without a cgroup or the cgroup had no memory controller.';
COMMENT ON COLUMN procq.job_attempt.cpu_user_ms IS 'CPU time in user mode, in milliseconds: with a cgroup of its own, of every process that ran in it (cpu.stat user_usec); without one, of the child and the descendants it waited for (wait4); NULL when the backend that ran it cannot tell.';
COMMENT ON COLUMN procq.job_attempt.cpu_system_ms IS 'CPU time the kernel spent on the job, in milliseconds: with a cgroup of its own, for every process that ran in it (cpu.stat system_usec); without one, for the child and the descendants it waited for (wait4); NULL when unknown.';

ALTER TABLE procq.job_attempt DROP CONSTRAINT job_attempt_outcome_check;
ALTER TABLE procq.job_attempt ADD CONSTRAINT job_attempt_outcome_check
    CHECK (outcome IN ('OK', 'FAILED', 'TIMEOUT', 'SPAWN_FAILED', 'STOPPED', 'LEASE_EXPIRED', 'LOST', 'OOM_KILLED'));
COMMENT ON COLUMN procq.job_attempt.outcome IS 'OK, FAILED (non-zero exit or signal), TIMEOUT, SPAWN_FAILED (program not found...), STOPPED (cancel, shutdown, or the worker short of memory, PROCQ_WORKER_MEMFREE_KILL; the last two are handed back and not counted), LEASE_EXPIRED (worker lost), LOST (the worker''s spawn helper died while the child ran, or the worker ended the child at its lease deadline because it could not renew the lease in time; not counted against maxAttempts), OOM_KILLED (the kernel''s OOM killer ended a process of the child''s cgroup, at its memory.max, and the child failed; retried as a death by signal is).';
