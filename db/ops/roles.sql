-- procq: least-privilege database roles.
--
-- Three group roles (NOLOGIN), one per kind of process, each allowed exactly the statements
-- that process runs (see src/main/java/dev/procq/store/):
--
--   procq_api       the HTTP API: records batches and jobs (INSERT, COPY), reads everything,
--                   cancels and retries (UPDATE of job state columns), steers job types.
--   procq_worker    workers: claim, renew, finish and rescue jobs (UPDATE of job run columns),
--                   record attempts, register themselves, seed job types, delete for retention.
--   procq_readonly  operators and dashboards: SELECT on every table and view, nothing else.
--
-- Schema changes belong to the schema's OWNER only: the role that runs `procq migrate`
-- (e.g. a login role procq_owner that created the schema). None of the three roles above can
-- create, alter or drop anything, so run `procq api` as procq_api with
-- PROCQ_MIGRATE_ON_START=false and run `procq migrate` as the owner.
--
-- How to apply, as the schema owner (creating the roles needs CREATEROLE or a superuser; if the
-- owner has neither, have a superuser run the DO block first):
--
--   psql "postgresql://procq_owner@db/procq" -v ON_ERROR_STOP=1 -f db/ops/roles.sql
--
-- then give each process a login of its own:
--
--   CREATE ROLE procq_api_1    LOGIN PASSWORD '...' IN ROLE procq_api;
--   CREATE ROLE procq_worker_1 LOGIN PASSWORD '...' IN ROLE procq_worker;
--   CREATE ROLE alice          LOGIN PASSWORD '...' IN ROLE procq_readonly;
--
-- The file is idempotent and is the whole truth about these roles: it first revokes what they
-- had, then grants what they need, in one transaction, so running processes never see a gap.
-- Re-run it after every `procq migrate`: tables a later migration adds are readable by all
-- three roles at once (default privileges for the schema owner), anything more is granted here.

BEGIN;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'procq_api') THEN
        CREATE ROLE procq_api NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'procq_worker') THEN
        CREATE ROLE procq_worker NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'procq_readonly') THEN
        CREATE ROLE procq_readonly NOLOGIN;
    END IF;
END
$$;

-- Start from nothing, so a privilege removed from this file is removed from the database.
-- (Revoking on a table also revokes its column privileges.)
REVOKE ALL ON ALL TABLES IN SCHEMA procq FROM PUBLIC, procq_api, procq_worker, procq_readonly;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA procq FROM PUBLIC, procq_api, procq_worker, procq_readonly;
REVOKE ALL ON SCHEMA procq FROM PUBLIC, procq_api, procq_worker, procq_readonly;

GRANT USAGE ON SCHEMA procq TO procq_api, procq_worker, procq_readonly;

-- Everyone reads everything: tables, the operator views and the migration history.
GRANT SELECT ON ALL TABLES IN SCHEMA procq TO procq_api, procq_worker, procq_readonly;
-- Tables later migrations create (as the schema owner) are readable at once.
DO $$
BEGIN
    EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA procq '
                   'GRANT SELECT ON TABLES TO procq_api, procq_worker, procq_readonly',
                   (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'procq'));
END
$$;

-- procq_api ---------------------------------------------------------------------------
-- intake: BatchDao.insertUnlessKeyUsed, setTotal, setPriority; JobCopyWriter (COPY is an INSERT)
GRANT INSERT ON procq.batch, procq.job TO procq_api;
-- setTotal/setPriority, cancel (requestCancel/clearCancel), and the counters that the
-- statement triggers on procq.job keep (they run with the rights of whoever changes jobs)
GRANT UPDATE (total, priority, cancel_requested, pending, running, ok, failed, cancelled, started_at, finished_at)
    ON procq.batch TO procq_api;
-- pause and resume (BatchDao, procq.pause_batch/resume_batch), a resume's fresh budget (setBudget),
-- and the budget counters the same triggers keep when a cancel or retry changes jobs
GRANT UPDATE (paused, halted_at, halt_reason, halt_failed, halt_failed_percent, halt_after, halt_in_a_row,
              budget_failed, budget_finished, failed_in_a_row)
    ON procq.batch TO procq_api;
-- setPriority, JobDao.cancelPendingOfBatch, retryFailedOfBatch
GRANT UPDATE (priority, state, finished_at, error, run_at, max_attempts) ON procq.job TO procq_api;
-- JobTypeDao: seed (insertIfMissing) and steer (update, setExitCodes, setHalt)
GRANT INSERT, UPDATE (concurrency, paused, exit_codes, global_concurrency, key_concurrency, key_rate, rate, updated_at,
                      halt_failed, halt_failed_percent, halt_after, halt_in_a_row, halt_seeded)
    ON procq.job_type TO procq_api;

-- procq_worker ------------------------------------------------------------------------
-- JobDao.claimPending (FOR UPDATE needs UPDATE), finishIfRunning, renewLeases,
-- rescueExpiredLeases, releaseAllHeldBy
GRANT UPDATE (state, attempts, worker_id, lease_expires_at, started_at, finished_at, exit_code, signal, error,
              run_at, max_attempts)
    ON procq.job TO procq_worker;
-- the counters kept by the triggers on procq.job
GRANT UPDATE (pending, running, ok, failed, cancelled, started_at, finished_at) ON procq.batch TO procq_worker;
-- ...and the failure budget's: a result write that spends the budget halts the batch
GRANT UPDATE (budget_failed, budget_finished, failed_in_a_row, halted_at, halt_reason) ON procq.batch TO procq_worker;
-- finishIfRunning and rescueExpiredLeases record attempts
GRANT INSERT ON procq.job_attempt TO procq_worker;
-- rescueExpiredLeases notes the first rescue on each timeline after a failover
GRANT INSERT ON procq.timeline TO procq_worker;
-- WorkerDao.register, heartbeat, markStopped
GRANT INSERT, UPDATE (heartbeat_at, stopped_at, host_hold) ON procq.worker TO procq_worker;
-- LiveTypes seeds missing job types from the file, and once the default failure budget of a row from before V13
GRANT INSERT, UPDATE (halt_failed, halt_failed_percent, halt_after, halt_in_a_row, halt_seeded)
    ON procq.job_type TO procq_worker;
-- claims of a type with a rate or key_rate (procq.job_type_claim) advance where the rate stands;
-- RatePruner deletes the rows that no longer hold anything back
GRANT INSERT, UPDATE (next_start_at), DELETE ON procq.job_rate TO procq_worker;
-- retention: finished batches (their jobs and attempts cascade), old attempts, old worker rows
GRANT DELETE ON procq.batch, procq.job, procq.job_attempt, procq.worker TO procq_worker;
GRANT DELETE ON procq.webhook_delivery, procq.webhook_attempt TO procq_worker;

-- both -----------------------------------------------------------------------------------
-- intake records a batch's webhook (BatchDao.setWebhook)
GRANT UPDATE (webhook_url) ON procq.batch TO procq_api;
-- the batch trigger fills the outbox in the transaction of whoever ends the batch (a worker's
-- results, an API's cancel); WebhookSender in either process claims, records and finishes deliveries
GRANT INSERT, UPDATE (attempts, claim, next_attempt_at, state, finished_at, last_error)
    ON procq.webhook_delivery TO procq_api, procq_worker;
GRANT INSERT ON procq.webhook_attempt TO procq_api, procq_worker;
-- the job triggers record counter changes whose batch row another transaction holds, and fold
-- them in (procq.batch_fold_deltas, R__job_count_changes.sql); deleting a batch deletes its own
GRANT INSERT, DELETE ON procq.batch_delta TO procq_api, procq_worker;

-- schedules ---------------------------------------------------------------------------
-- ScheduleDao: the API defines schedules and its scheduler submits their ticks through intake
-- (the grants above), moving each schedule on and linking each batch to it (markBatch). Workers
-- get none of this: they may not submit, so a worker's scheduler finds itself refused and leaves
-- the ticks to the API processes (it says so once in its log).
GRANT INSERT, UPDATE (name, cron, time_zone, body, overlap, catch_up, paused, next_run_at, queued_tick_at,
                      last_error, updated_at), DELETE
    ON procq.schedule TO procq_api;
GRANT UPDATE (schedule_id, schedule_tick_at) ON procq.batch TO procq_api;

-- procq_readonly: SELECT above and nothing else.

COMMIT;
