-- procq schema: phase 1 writes batch and job rows, phase 2 claims and finishes them.
-- Forward only: never edit this file once applied; add V2__... instead.

CREATE SCHEMA IF NOT EXISTS procq;
COMMENT ON SCHEMA procq IS 'procq: a two-phase persistent job queue. Phase 1 records targets as PENDING jobs, phase 2 workers run one child process per job.';

-- Job types -------------------------------------------------------------------
CREATE TABLE procq.job_type (
    name         text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    concurrency  integer     NOT NULL CHECK (concurrency > 0),
    paused       boolean     NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE  procq.job_type IS 'One row per job type. Seeded from the job-types file; UPDATE concurrency or paused here to steer running workers within seconds.';
COMMENT ON COLUMN procq.job_type.name IS 'Type name as in the job-types file and in POST /api/v1/batches.';
COMMENT ON COLUMN procq.job_type.concurrency IS 'Most children of this type one worker runs at once. Inserted from the file the first time a type is seen; afterwards this row wins.';
COMMENT ON COLUMN procq.job_type.paused IS 'true: no worker claims jobs of this type; running ones finish.';
COMMENT ON COLUMN procq.job_type.updated_at IS 'When concurrency or paused last changed.';

-- Workers ---------------------------------------------------------------------
CREATE TABLE procq.worker (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host          text        NOT NULL,
    pid           bigint      NOT NULL,
    concurrency   integer     NOT NULL CHECK (concurrency > 0),
    types         text[]      NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    stopped_at    timestamptz
);
COMMENT ON TABLE  procq.worker IS 'One row per worker process run. A worker renews heartbeat_at with its leases; stopped_at is set on clean shutdown.';
COMMENT ON COLUMN procq.worker.id IS 'Worker run id; procq.job.worker_id points here.';
COMMENT ON COLUMN procq.worker.host IS 'Host name of the worker.';
COMMENT ON COLUMN procq.worker.pid IS 'Operating-system process id of the worker on its host.';
COMMENT ON COLUMN procq.worker.concurrency IS 'The worker''s global cap on running children (PROCQ_WORKER_CONCURRENCY).';
COMMENT ON COLUMN procq.worker.types IS 'Job types this worker runs.';
COMMENT ON COLUMN procq.worker.started_at IS 'When the worker started.';
COMMENT ON COLUMN procq.worker.heartbeat_at IS 'Last time the worker renewed its leases.';
COMMENT ON COLUMN procq.worker.stopped_at IS 'When the worker shut down cleanly; NULL while running or after a crash.';

-- Batches ---------------------------------------------------------------------
CREATE TABLE procq.batch (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type             text        NOT NULL,
    priority         integer     NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
    idempotency_key  text        UNIQUE,
    total            bigint      NOT NULL CHECK (total >= 0),
    pending          bigint      NOT NULL DEFAULT 0 CHECK (pending >= 0),
    running          bigint      NOT NULL DEFAULT 0 CHECK (running >= 0),
    ok               bigint      NOT NULL DEFAULT 0 CHECK (ok >= 0),
    failed           bigint      NOT NULL DEFAULT 0 CHECK (failed >= 0),
    cancelled        bigint      NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
    cancel_requested boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    state            text        GENERATED ALWAYS AS (
                                     CASE WHEN cancel_requested THEN 'CANCELLED'
                                          WHEN finished_at IS NOT NULL THEN 'DONE'
                                          WHEN started_at IS NOT NULL THEN 'RUNNING'
                                          ELSE 'PENDING' END) STORED,
    CHECK (finished_at IS NULL OR (pending = 0 AND running = 0))
);
COMMENT ON TABLE  procq.batch IS 'One row per submitted batch. The counters are kept by triggers on procq.job, so reading progress never counts job rows.';
COMMENT ON COLUMN procq.batch.id IS 'Batch id, as returned by POST /api/v1/batches.';
COMMENT ON COLUMN procq.batch.type IS 'Job type of every job in the batch.';
COMMENT ON COLUMN procq.batch.priority IS 'Claim order across batches: lower runs first (default 0).';
COMMENT ON COLUMN procq.batch.idempotency_key IS 'Idempotency-Key header of the POST that created it; a retried POST with the same key returns this batch.';
COMMENT ON COLUMN procq.batch.total IS 'Number of targets (job rows) in the batch.';
COMMENT ON COLUMN procq.batch.pending IS 'Jobs in state PENDING (kept by trigger).';
COMMENT ON COLUMN procq.batch.running IS 'Jobs in state RUNNING (kept by trigger).';
COMMENT ON COLUMN procq.batch.ok IS 'Jobs in state OK (kept by trigger).';
COMMENT ON COLUMN procq.batch.failed IS 'Jobs in state FAILED (kept by trigger).';
COMMENT ON COLUMN procq.batch.cancelled IS 'Jobs in state CANCELLED (kept by trigger).';
COMMENT ON COLUMN procq.batch.cancel_requested IS 'Set by POST .../cancel: workers stop this batch''s running children.';
COMMENT ON COLUMN procq.batch.created_at IS 'When the batch was recorded.';
COMMENT ON COLUMN procq.batch.started_at IS 'When its first job was claimed.';
COMMENT ON COLUMN procq.batch.finished_at IS 'When its last job reached a final state (OK, FAILED, CANCELLED); NULL while any job is PENDING or RUNNING.';
COMMENT ON COLUMN procq.batch.state IS 'PENDING (nothing claimed yet), RUNNING, DONE (every job final) or CANCELLED; derived from the other columns.';

-- Jobs ------------------------------------------------------------------------
CREATE TABLE procq.job (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id         bigint      NOT NULL REFERENCES procq.batch (id) ON DELETE CASCADE,
    type             text        NOT NULL,
    priority         integer     NOT NULL DEFAULT 0,
    target           text        NOT NULL,
    meta             jsonb,
    state            text        NOT NULL DEFAULT 'PENDING'
                                 CHECK (state IN ('PENDING', 'RUNNING', 'OK', 'FAILED', 'CANCELLED')),
    attempts         integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts     integer     NOT NULL DEFAULT 1 CHECK (max_attempts > 0),
    run_at           timestamptz NOT NULL DEFAULT now(),
    worker_id        bigint,
    lease_expires_at timestamptz,
    exit_code        integer,
    signal           integer,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    CHECK ((finished_at IS NOT NULL) = (state IN ('OK', 'FAILED', 'CANCELLED'))),
    CHECK ((state = 'RUNNING') = (lease_expires_at IS NOT NULL)),
    CHECK (state <> 'RUNNING' OR worker_id IS NOT NULL)
);
COMMENT ON TABLE  procq.job IS 'One row per target. PENDING -> RUNNING -> OK | FAILED, or back to PENDING for a retry; CANCELLED from PENDING or RUNNING. OK, FAILED and CANCELLED are final.';
COMMENT ON COLUMN procq.job.id IS 'Job id, as in GET /api/v1/jobs/{id}.';
COMMENT ON COLUMN procq.job.batch_id IS 'The batch this target was submitted in.';
COMMENT ON COLUMN procq.job.type IS 'Job type (copied from the batch so the claim query needs no join).';
COMMENT ON COLUMN procq.job.priority IS 'Claim order (copied from the batch): lower runs first.';
COMMENT ON COLUMN procq.job.target IS 'The target string substituted for {target} in the type''s command, as one argv element.';
COMMENT ON COLUMN procq.job.meta IS 'Facts recorded in phase 1 (for scanned files: size, mtime, image metadata).';
COMMENT ON COLUMN procq.job.state IS 'PENDING, RUNNING, OK, FAILED or CANCELLED; the last three are final.';
COMMENT ON COLUMN procq.job.attempts IS 'Attempts started so far (incremented by each claim); also the fencing token of the current lease.';
COMMENT ON COLUMN procq.job.max_attempts IS 'Attempts allowed before FAILED (the type''s maxAttempts at submission).';
COMMENT ON COLUMN procq.job.run_at IS 'Not claimed before this time (retry backoff).';
COMMENT ON COLUMN procq.job.worker_id IS 'Worker holding the job while RUNNING (procq.worker.id); the last holder afterwards.';
COMMENT ON COLUMN procq.job.lease_expires_at IS 'While RUNNING: when the lease runs out unless renewed; after that the job goes back to PENDING as a new attempt.';
COMMENT ON COLUMN procq.job.exit_code IS 'Exit code of the last finished attempt, if the program exited.';
COMMENT ON COLUMN procq.job.signal IS 'Signal number that ended the last attempt, if any.';
COMMENT ON COLUMN procq.job.error IS 'Why the last attempt failed (NULL when OK).';
COMMENT ON COLUMN procq.job.created_at IS 'When the target was recorded (phase 1).';
COMMENT ON COLUMN procq.job.started_at IS 'When the current or last attempt started.';
COMMENT ON COLUMN procq.job.finished_at IS 'When the job reached a final state; NULL exactly while it is PENDING or RUNNING.';

-- The claim query walks this index in priority order and stops after LIMIT rows:
-- finished rows are not in it, so millions of them cost nothing.
CREATE INDEX job_pending_claim_idx ON procq.job (type, priority, id) WHERE state = 'PENDING';
CREATE INDEX job_batch_state_idx   ON procq.job (batch_id, state, id);
CREATE INDEX job_running_lease_idx ON procq.job (lease_expires_at) WHERE state = 'RUNNING';
CREATE INDEX job_running_worker_idx ON procq.job (worker_id) WHERE state = 'RUNNING';

-- Attempts --------------------------------------------------------------------
CREATE TABLE procq.job_attempt (
    job_id       bigint      NOT NULL REFERENCES procq.job (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL CHECK (attempt > 0),
    worker_id    bigint,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('OK', 'FAILED', 'TIMEOUT', 'SPAWN_FAILED', 'STOPPED', 'LEASE_EXPIRED')),
    exit_code    integer,
    signal       integer,
    duration_ms  bigint      NOT NULL CHECK (duration_ms >= 0),
    error        text,
    output_tail  text,
    PRIMARY KEY (job_id, attempt)
);
COMMENT ON TABLE  procq.job_attempt IS 'One row per finished attempt of a job: how the child ended and the tail of its output.';
COMMENT ON COLUMN procq.job_attempt.job_id IS 'The job (procq.job.id).';
COMMENT ON COLUMN procq.job_attempt.attempt IS 'Attempt number, 1 for the first run.';
COMMENT ON COLUMN procq.job_attempt.worker_id IS 'Worker that ran the attempt.';
COMMENT ON COLUMN procq.job_attempt.started_at IS 'When the attempt was claimed.';
COMMENT ON COLUMN procq.job_attempt.finished_at IS 'When the attempt ended (or was found abandoned).';
COMMENT ON COLUMN procq.job_attempt.outcome IS 'OK, FAILED (non-zero exit or signal), TIMEOUT, SPAWN_FAILED (program not found...), STOPPED (cancel or shutdown), LEASE_EXPIRED (worker lost).';
COMMENT ON COLUMN procq.job_attempt.exit_code IS 'Exit code, if the program exited.';
COMMENT ON COLUMN procq.job_attempt.signal IS 'Signal number that ended the child, if any.';
COMMENT ON COLUMN procq.job_attempt.duration_ms IS 'Wall-clock run time in milliseconds.';
COMMENT ON COLUMN procq.job_attempt.error IS 'Human-readable reason the attempt failed; NULL on OK.';
COMMENT ON COLUMN procq.job_attempt.output_tail IS 'Last bytes of the child''s stdout and stderr, merged.';

-- Batch counters ----------------------------------------------------------------
-- Statement-level triggers with transition tables: one aggregate per statement,
-- so a COPY of a million rows or a claim of 500 costs one counter update per batch,
-- and an operator's UPDATE from psql keeps the counters right too.
CREATE FUNCTION procq.job_count_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    batch_ids bigint[];
    states    text[];
    counts    bigint[];
BEGIN
    -- Each branch names only the transition tables its event has.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(batch_id), array_agg(state), array_agg(n) INTO batch_ids, states, counts
          FROM (SELECT batch_id, state, count(*) AS n FROM new_rows GROUP BY 1, 2) c;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(batch_id), array_agg(state), array_agg(n) INTO batch_ids, states, counts
          FROM (SELECT batch_id, state, -count(*) AS n FROM old_rows GROUP BY 1, 2) c;
    ELSE
        SELECT array_agg(batch_id), array_agg(state), array_agg(n) INTO batch_ids, states, counts
          FROM (SELECT batch_id, state, sum(n) AS n
                  FROM (SELECT batch_id, state, 1 AS n FROM new_rows
                        UNION ALL
                        SELECT batch_id, state, -1 AS n FROM old_rows) u
                 GROUP BY 1, 2
                HAVING sum(n) <> 0) c;
    END IF;
    IF batch_ids IS NULL THEN
        RETURN NULL;
    END IF;
    -- Batches are updated in id order so concurrent statements cannot deadlock on them.
    UPDATE procq.batch b SET
        pending     = b.pending   + d.pending,
        running     = b.running   + d.running,
        ok          = b.ok        + d.ok,
        failed      = b.failed    + d.failed,
        cancelled   = b.cancelled + d.cancelled,
        started_at  = CASE WHEN b.started_at IS NULL AND d.running > 0 THEN now() ELSE b.started_at END,
        finished_at = CASE WHEN b.pending + d.pending = 0 AND b.running + d.running = 0
                           THEN coalesce(b.finished_at, now()) END
      FROM (SELECT batch_id,
                   coalesce(sum(n) FILTER (WHERE state = 'PENDING'), 0)   AS pending,
                   coalesce(sum(n) FILTER (WHERE state = 'RUNNING'), 0)   AS running,
                   coalesce(sum(n) FILTER (WHERE state = 'OK'), 0)        AS ok,
                   coalesce(sum(n) FILTER (WHERE state = 'FAILED'), 0)    AS failed,
                   coalesce(sum(n) FILTER (WHERE state = 'CANCELLED'), 0) AS cancelled
              FROM unnest(batch_ids, states, counts) AS t(batch_id, state, n)
             GROUP BY batch_id
             ORDER BY batch_id) d
     WHERE b.id = d.batch_id;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION procq.job_count_changes() IS 'Statement trigger on procq.job: folds the state changes of one statement into the procq.batch counters.';

CREATE TRIGGER job_counts_insert AFTER INSERT ON procq.job
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION procq.job_count_changes();
CREATE TRIGGER job_counts_update AFTER UPDATE ON procq.job
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION procq.job_count_changes();
CREATE TRIGGER job_counts_delete AFTER DELETE ON procq.job
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION procq.job_count_changes();

-- Operators' views ------------------------------------------------------------
CREATE VIEW procq.batch_progress AS
SELECT b.id, b.type, b.state, b.priority, b.total, b.pending, b.running, b.ok, b.failed, b.cancelled,
       CASE WHEN b.total = 0 THEN 100.0
            ELSE round(100.0 * (b.ok + b.failed + b.cancelled) / b.total, 1) END AS percent_done,
       CASE WHEN b.started_at IS NULL THEN NULL
            ELSE round((b.ok + b.failed)::numeric
                       / greatest(extract(epoch FROM coalesce(b.finished_at, now()) - b.started_at), 0.001), 2)
       END AS jobs_per_second,
       CASE WHEN b.finished_at IS NOT NULL OR b.started_at IS NULL OR b.ok + b.failed = 0 THEN NULL
            ELSE (now() - b.started_at) * ((b.pending + b.running)::float8 / (b.ok + b.failed))
       END AS eta,
       b.created_at, b.started_at, b.finished_at
  FROM procq.batch b;
COMMENT ON VIEW procq.batch_progress IS 'One row per batch: counts, percent done, rate and estimated time left. Reads counters only, never counts job rows.';

CREATE VIEW procq.recent_failures AS
SELECT j.id AS job_id, j.batch_id, j.type, j.target, j.attempts, j.exit_code, j.signal, j.error,
       a.output_tail, j.finished_at
  FROM procq.job j
  LEFT JOIN procq.job_attempt a ON a.job_id = j.id AND a.attempt = j.attempts
 WHERE j.state = 'FAILED' AND j.finished_at > now() - interval '24 hours'
 ORDER BY j.finished_at DESC;
COMMENT ON VIEW procq.recent_failures IS 'Jobs that ended FAILED in the last 24 hours, newest first, with the reason and the last attempt''s output tail.';

CREATE VIEW procq.stuck_jobs AS
SELECT j.id AS job_id, j.batch_id, j.type, j.target, j.attempts, j.worker_id, w.host, w.pid,
       j.started_at, j.lease_expires_at, now() - j.started_at AS running_for,
       CASE WHEN j.lease_expires_at < now() THEN 'lease expired'
            WHEN w.stopped_at IS NOT NULL THEN 'worker stopped'
            ELSE 'worker heartbeat late' END AS why
  FROM procq.job j
  LEFT JOIN procq.worker w ON w.id = j.worker_id
 WHERE j.state = 'RUNNING'
   AND (j.lease_expires_at < now() OR w.stopped_at IS NOT NULL OR w.heartbeat_at < now() - interval '1 minute');
COMMENT ON VIEW procq.stuck_jobs IS 'RUNNING jobs whose lease has run out or whose worker has gone quiet; the rescuer returns them to PENDING.';
