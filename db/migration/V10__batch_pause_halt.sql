-- Batches an operator pauses, and batches that halt themselves when their failure budget runs out.
--
-- Both claim nothing more: the claim skips every batch in procq.batch_held (an uncorrelated
-- subquery, evaluated once per claim, over a partial index that holds only paused and halted
-- batches). Their PENDING jobs stay PENDING and RUNNING ones finish.
--
-- The halt is decided here, in the statement trigger that already folds every job state change
-- into the batch counters: the statement that writes the failure that exhausts the budget also
-- sets halted_at and halt_reason, in the same transaction. No worker has to learn of it: every
-- claim that starts after that commit skips the batch, on every worker at once.
--
-- procq.batch.state is a generated column and PostgreSQL 15 cannot change a generation
-- expression, so the column (and the view that reads it) is dropped and made again.

ALTER TABLE procq.batch
    ADD COLUMN paused              boolean          NOT NULL DEFAULT false,
    ADD COLUMN halted_at           timestamptz,
    ADD COLUMN halt_reason         text,
    ADD COLUMN halt_failed         bigint           CHECK (halt_failed > 0),
    ADD COLUMN halt_failed_percent double precision CHECK (halt_failed_percent > 0 AND halt_failed_percent <= 100),
    ADD COLUMN halt_after          bigint           CHECK (halt_after > 0),
    ADD COLUMN halt_in_a_row       bigint           CHECK (halt_in_a_row > 0),
    ADD COLUMN budget_failed       bigint           NOT NULL DEFAULT 0 CHECK (budget_failed >= 0),
    ADD COLUMN budget_finished     bigint           NOT NULL DEFAULT 0 CHECK (budget_finished >= 0),
    ADD COLUMN failed_in_a_row     bigint           NOT NULL DEFAULT 0 CHECK (failed_in_a_row >= 0),
    ADD CONSTRAINT batch_halt_percent_needs_after CHECK ((halt_failed_percent IS NULL) = (halt_after IS NULL)),
    ADD CONSTRAINT batch_halted_with_reason CHECK ((halted_at IS NULL) = (halt_reason IS NULL));

COMMENT ON COLUMN procq.batch.paused IS 'true: an operator paused the batch (POST .../pause, or UPDATE procq.batch SET paused = true); no worker claims its jobs, running ones finish. procq.resume_batch(id) or POST .../resume clears it.';
COMMENT ON COLUMN procq.batch.halted_at IS 'When the failure budget ran out (set by procq.job_count_changes in the statement that wrote the failure); no worker claims the batch''s jobs until it is resumed. NULL while not halted.';
COMMENT ON COLUMN procq.batch.halt_reason IS 'Why the batch halted, e.g. ''100 targets failed (budget: failed 100)''; NULL while not halted.';
COMMENT ON COLUMN procq.batch.halt_failed IS 'Failure budget: halt once this many targets have FAILED since the batch started (or was last resumed from a halt); NULL for no such rule.';
COMMENT ON COLUMN procq.batch.halt_failed_percent IS 'Failure budget: halt once this share (0 to 100) of the targets finished since the start or last resume FAILED, counted from halt_after finished targets on; NULL for no such rule.';
COMMENT ON COLUMN procq.batch.halt_after IS 'How many targets must have finished (OK or FAILED) before halt_failed_percent applies; set exactly when halt_failed_percent is.';
COMMENT ON COLUMN procq.batch.halt_in_a_row IS 'Failure budget: halt once this many targets FAILED with no OK in between; NULL for no such rule.';
COMMENT ON COLUMN procq.batch.budget_failed IS 'Targets that became FAILED since the batch started or was last resumed from a halt (kept by trigger; what halt_failed and halt_failed_percent count).';
COMMENT ON COLUMN procq.batch.budget_finished IS 'Targets that became OK or FAILED since the batch started or was last resumed from a halt (kept by trigger).';
COMMENT ON COLUMN procq.batch.failed_in_a_row IS 'FAILED targets since the last OK (kept by trigger; what halt_in_a_row counts). Results written in one statement count as if its OKs came first.';

-- The state, with the two new ones. A halt or a pause says nothing once every job is final.
DROP VIEW procq.batch_progress;
ALTER TABLE procq.batch DROP COLUMN state;
ALTER TABLE procq.batch ADD COLUMN state text GENERATED ALWAYS AS (
    CASE WHEN cancel_requested THEN 'CANCELLED'
         WHEN finished_at IS NOT NULL THEN 'DONE'
         WHEN halted_at IS NOT NULL THEN 'HALTED'
         WHEN paused THEN 'PAUSED'
         WHEN started_at IS NOT NULL THEN 'RUNNING'
         ELSE 'PENDING' END) STORED
    CHECK (state IN ('PENDING', 'RUNNING', 'PAUSED', 'HALTED', 'DONE', 'CANCELLED'));
COMMENT ON COLUMN procq.batch.state IS 'PENDING (nothing claimed yet), RUNNING, PAUSED (by an operator), HALTED (its failure budget ran out: see halt_reason), DONE (every job final) or CANCELLED; derived from the other columns. PAUSED and HALTED claim nothing more.';

-- The batches claims skip. Few at any time, so the claim reads them from this index in one go.
CREATE INDEX batch_held_idx ON procq.batch (id) WHERE paused OR halted_at IS NOT NULL;

CREATE VIEW procq.batch_held AS
SELECT id FROM procq.batch WHERE paused OR halted_at IS NOT NULL;
COMMENT ON VIEW procq.batch_held IS 'Batches whose jobs no worker claims: paused by an operator or halted by their failure budget.';
COMMENT ON COLUMN procq.batch_held.id IS 'Batch id (procq.batch.id).';

-- What the budget says of a batch's counts: the reason to halt, or NULL.
CREATE FUNCTION procq.halt_reason(halt_failed bigint, halt_failed_percent double precision, halt_after bigint,
                                  halt_in_a_row bigint, failed bigint, finished bigint, failed_in_a_row bigint)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN halt_failed IS NOT NULL AND failed >= halt_failed
            THEN failed || ' targets failed (budget: failed ' || halt_failed || ')'
        WHEN halt_in_a_row IS NOT NULL AND failed_in_a_row >= halt_in_a_row
            THEN failed_in_a_row || ' targets failed in a row (budget: inARow ' || halt_in_a_row || ')'
        WHEN halt_failed_percent IS NOT NULL AND finished >= halt_after AND failed * 100.0 >= halt_failed_percent * finished
            THEN failed || ' of ' || finished || ' finished targets failed, ' || round(100.0 * failed / finished, 1)
                 || '% (budget: failedPercent ' || halt_failed_percent || ' after ' || halt_after || ')'
    END
$$;
COMMENT ON FUNCTION procq.halt_reason(bigint, double precision, bigint, bigint, bigint, bigint, bigint) IS 'Failure budget check: the reason a batch with these budget columns and counts halts, or NULL while the budget holds.';

CREATE OR REPLACE FUNCTION procq.job_count_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    batch_ids bigint[];
    states    text[];
    counts    bigint[];
    updated   bigint;
    missing   bigint;
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
    -- A statement that makes targets FAILED also checks the batch's failure budget (d.failed > 0:
    -- completions and rescues; a retry moves targets out of FAILED and counts nothing).
    UPDATE procq.batch b SET
        pending         = b.pending   + d.pending,
        running         = b.running   + d.running,
        ok              = b.ok        + d.ok,
        failed          = b.failed    + d.failed,
        cancelled       = b.cancelled + d.cancelled,
        started_at      = CASE WHEN b.started_at IS NULL AND d.running > 0 THEN now() ELSE b.started_at END,
        finished_at     = CASE WHEN b.pending + d.pending = 0 AND b.running + d.running = 0
                               THEN coalesce(b.finished_at, now()) END,
        budget_failed   = b.budget_failed + greatest(d.failed, 0),
        budget_finished = b.budget_finished + greatest(d.failed, 0) + greatest(d.ok, 0),
        failed_in_a_row = CASE WHEN d.ok > 0 THEN greatest(d.failed, 0) ELSE b.failed_in_a_row + greatest(d.failed, 0) END,
        halted_at       = CASE WHEN b.halted_at IS NOT NULL THEN b.halted_at
                               WHEN d.failed > 0 AND b.pending + d.pending > 0
                                    AND procq.halt_reason(b.halt_failed, b.halt_failed_percent, b.halt_after, b.halt_in_a_row,
                                            b.budget_failed + d.failed, b.budget_finished + d.failed + greatest(d.ok, 0),
                                            CASE WHEN d.ok > 0 THEN d.failed ELSE b.failed_in_a_row + d.failed END) IS NOT NULL
                               THEN now() END,
        halt_reason     = CASE WHEN b.halted_at IS NOT NULL THEN b.halt_reason
                               WHEN d.failed > 0 AND b.pending + d.pending > 0
                               THEN procq.halt_reason(b.halt_failed, b.halt_failed_percent, b.halt_after, b.halt_in_a_row,
                                            b.budget_failed + d.failed, b.budget_finished + d.failed + greatest(d.ok, 0),
                                            CASE WHEN d.ok > 0 THEN d.failed ELSE b.failed_in_a_row + d.failed END) END
      FROM (SELECT batch_id,
                   coalesce(sum(n) FILTER (WHERE state = 'PENDING'), 0)::bigint   AS pending,
                   coalesce(sum(n) FILTER (WHERE state = 'RUNNING'), 0)::bigint   AS running,
                   coalesce(sum(n) FILTER (WHERE state = 'OK'), 0)::bigint        AS ok,
                   coalesce(sum(n) FILTER (WHERE state = 'FAILED'), 0)::bigint    AS failed,
                   coalesce(sum(n) FILTER (WHERE state = 'CANCELLED'), 0)::bigint AS cancelled
              FROM unnest(batch_ids, states, counts) AS t(batch_id, state, n)
             GROUP BY batch_id
             ORDER BY batch_id) d
     WHERE b.id = d.batch_id;
    -- Rows that arrive in (or move to) a batch need that batch. The UPDATE above has locked
    -- every batch it found, so none of them can be deleted before this transaction ends;
    -- the jobs of a batch being deleted are deleted with it (procq.batch_delete_jobs).
    IF TG_OP <> 'DELETE' THEN
        GET DIAGNOSTICS updated = ROW_COUNT;
        IF updated < cardinality(ARRAY(SELECT DISTINCT unnest(batch_ids))) THEN
            SELECT min(wanted.batch_id) INTO missing FROM unnest(batch_ids) AS wanted(batch_id)
             WHERE NOT EXISTS (SELECT 1 FROM procq.batch b WHERE b.id = wanted.batch_id);
            RAISE foreign_key_violation USING
                MESSAGE = format('batch %s does not exist', missing),
                DETAIL = 'procq.job.batch_id must name a row of procq.batch',
                TABLE = 'job', SCHEMA = 'procq';
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION procq.job_count_changes() IS 'Statement trigger on procq.job: folds the state changes of one statement into the procq.batch counters, halts a batch whose failure budget those changes exhaust, and refuses rows whose batch does not exist (23503).';

-- The operator's two actions, for psql; the API calls the same functions.
CREATE FUNCTION procq.pause_batch(batch_id bigint) RETURNS text
LANGUAGE sql AS $$
    -- A batch whose jobs are all final, or that was cancelled, has nothing to pause.
    UPDATE procq.batch SET paused = paused OR (finished_at IS NULL AND NOT cancel_requested)
     WHERE id = batch_id RETURNING state
$$;
COMMENT ON FUNCTION procq.pause_batch(bigint) IS 'Pauses a batch: no worker claims its jobs from the next claim on; running ones finish. Returns the state after: PAUSED (or HALTED, which it stays), DONE or CANCELLED (nothing to pause), NULL (no such batch). Like UPDATE procq.batch SET paused = true.';

CREATE FUNCTION procq.resume_batch(batch_id bigint) RETURNS text
LANGUAGE sql AS $$
    WITH resumed AS (
        UPDATE procq.batch
           SET paused = false, halted_at = NULL, halt_reason = NULL,
               -- Lifting a halt starts the budget's count afresh; a mere pause leaves it alone.
               budget_failed   = CASE WHEN halted_at IS NOT NULL THEN 0 ELSE budget_failed END,
               budget_finished = CASE WHEN halted_at IS NOT NULL THEN 0 ELSE budget_finished END,
               failed_in_a_row = CASE WHEN halted_at IS NOT NULL THEN 0 ELSE failed_in_a_row END
         WHERE id = batch_id
        RETURNING type, state
    ), woken AS (
        SELECT pg_notify('procq_jobs', type) FROM resumed
    )
    SELECT state FROM resumed, (SELECT count(*) FROM woken) w
$$;
COMMENT ON FUNCTION procq.resume_batch(bigint) IS 'Resumes a paused or halted batch: workers claim its jobs again (woken on channel procq_jobs). Lifting a halt restarts the failure budget''s count. Returns the new state (NULL: no such batch).';

-- procq.batch_progress, as before, with the pause and the halt ------------------------------
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
       b.created_at, b.started_at, b.finished_at,
       b.halt_reason, b.halted_at,
       concat_ws(', ', 'failed ' || b.halt_failed,
                 'failedPercent ' || b.halt_failed_percent || ' after ' || b.halt_after,
                 'inARow ' || b.halt_in_a_row) AS budget
  FROM procq.batch b;
COMMENT ON VIEW procq.batch_progress IS 'One row per batch: state, counts, percent done, rate, estimated time left, and why it halted. Reads counters only, never counts job rows.';
COMMENT ON COLUMN procq.batch_progress.id IS 'Batch id (procq.batch.id).';
COMMENT ON COLUMN procq.batch_progress.type IS 'Job type of the batch.';
COMMENT ON COLUMN procq.batch_progress.state IS 'PENDING, RUNNING, PAUSED, HALTED, DONE or CANCELLED.';
COMMENT ON COLUMN procq.batch_progress.priority IS 'Claim order across batches: lower runs first.';
COMMENT ON COLUMN procq.batch_progress.total IS 'Number of targets in the batch.';
COMMENT ON COLUMN procq.batch_progress.pending IS 'Jobs waiting to be claimed (including retries waiting for their backoff, and all jobs of a paused or halted batch).';
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
COMMENT ON COLUMN procq.batch_progress.halt_reason IS 'Why the batch halted (its failure budget ran out); NULL unless HALTED.';
COMMENT ON COLUMN procq.batch_progress.halted_at IS 'When it halted; NULL unless HALTED.';
COMMENT ON COLUMN procq.batch_progress.budget IS 'The batch''s failure budget, e.g. ''failed 100, inARow 10''; empty for none.';
