-- procq.job_count_changes(): the one current definition of the statement trigger that keeps
-- procq.batch's counters, its failure budget and the batch reference of procq.job.
--
-- A repeatable migration: Flyway runs it after every versioned one, and again whenever this
-- file changes, so a change to the function is an edit here, not another copy in a new V file.
-- V1, V4 and V10 each created or replaced the function before this file existed; they stay as
-- they were applied (migrations are history, and editing one breaks Flyway's validation of every
-- existing install), and this file replaces what they left. Since V23 it also defines the two
-- functions the trigger calls: procq.batch_count_apply and procq.batch_fold_deltas.
-- A versioned migration that needs a newer body must not count on it: R__ runs after it.

-- procq.batch_count_apply(): adds per-batch changes to procq.batch's counters and halts a
-- batch whose failure budget they exhaust; the caller holds (or here takes) the rows' locks.
CREATE OR REPLACE FUNCTION procq.batch_count_apply(ids bigint[], pendings bigint[], runnings bigint[], oks bigint[],
                                                   faileds bigint[], cancelleds bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    updated bigint;
BEGIN
    -- Batches are updated in id order so concurrent statements cannot deadlock on them.
    -- A change that makes targets FAILED also checks the batch's failure budget (d.failed > 0:
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
      FROM (SELECT * FROM unnest(ids, pendings, runnings, oks, faileds, cancelleds)
                       AS t(batch_id, pending, running, ok, failed, cancelled)
             ORDER BY batch_id) d
     WHERE b.id = d.batch_id;
    GET DIAGNOSTICS updated = ROW_COUNT;
    RETURN updated;
END;
$$;
COMMENT ON FUNCTION procq.batch_count_apply(bigint[], bigint[], bigint[], bigint[], bigint[], bigint[]) IS 'Adds changes (one element per batch, in the arrays'' order) to procq.batch''s counters, ends a batch none of whose jobs is left PENDING or RUNNING, and halts one whose failure budget they exhaust; returns the batches updated.';

-- procq.batch_fold_deltas(): folds the changes that procq.batch_delta holds into procq.batch.
CREATE OR REPLACE FUNCTION procq.batch_fold_deltas(only_batches bigint[] DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    batch  bigint;
    change record;
    folded bigint := 0;
BEGIN
    -- A batch row another transaction holds is passed over: that transaction, or the next fold,
    -- takes its deltas. Rows this transaction holds already are taken as they are.
    FOR batch IN SELECT b.id FROM procq.batch b
                  WHERE b.id IN (SELECT batch_id FROM procq.batch_delta
                                  WHERE only_batches IS NULL OR batch_id = ANY (only_batches))
                  ORDER BY b.id
                    FOR NO KEY UPDATE SKIP LOCKED
    LOOP
        -- Oldest first, one at a time: a change that failed targets (the trigger records none,
        -- an operator might) is judged against the failure budget as the batch stood then.
        FOR change IN WITH taken AS (DELETE FROM procq.batch_delta WHERE batch_id = batch RETURNING *)
                 SELECT * FROM taken ORDER BY id
        LOOP
            PERFORM procq.batch_count_apply(ARRAY[batch], ARRAY[change.pending], ARRAY[change.running], ARRAY[change.ok],
                                            ARRAY[change.failed], ARRAY[change.cancelled]);
            folded := folded + 1;
        END LOOP;
    END LOOP;
    IF only_batches IS NULL THEN
        -- Deltas of a batch deleted after they were recorded.
        DELETE FROM procq.batch_delta o WHERE NOT EXISTS (SELECT 1 FROM procq.batch b WHERE b.id = o.batch_id);
    END IF;
    RETURN folded;
END;
$$;
COMMENT ON FUNCTION procq.batch_fold_deltas(bigint[]) IS 'Folds the counter changes in procq.batch_delta (of the given batches; NULL: of all) into procq.batch, oldest first, passing over batch rows another transaction holds; returns the changes folded. Workers call it about once a second; an operator may too.';

-- procq.job_count_changes(): the statement trigger on procq.job.
-- Generic plans: its statements' parameters are arrays of batch ids, whose custom plans were
-- planned again on every call (a worker's round trip took 2.27 ms on average with them, 1.51 ms
-- without, in B2: docs/benchmarks.md), and no plan here depends on what the arrays hold.
CREATE OR REPLACE FUNCTION procq.job_count_changes() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    ids        bigint[];
    pendings   bigint[];
    runnings   bigint[];
    oks        bigint[];
    faileds    bigint[];
    cancelleds bigint[];
    wanted     integer;
    free       bigint[];
    deferred   bigint := 0;
    updated    bigint := 0;
    missing    bigint;
    claims_and_results boolean := false;
BEGIN
    -- One change per batch (the arrays in one order, whichever; batch rows are locked in id
    -- order where they are). Each branch names only the transition tables its event has.
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(batch_id), array_agg(pending), array_agg(running), array_agg(ok), array_agg(failed), array_agg(cancelled)
          INTO ids, pendings, runnings, oks, faileds, cancelleds
          FROM (SELECT batch_id,
                       count(*) FILTER (WHERE state = 'PENDING')   AS pending,
                       count(*) FILTER (WHERE state = 'RUNNING')   AS running,
                       count(*) FILTER (WHERE state = 'OK')        AS ok,
                       count(*) FILTER (WHERE state = 'FAILED')    AS failed,
                       count(*) FILTER (WHERE state = 'CANCELLED') AS cancelled
                  FROM new_rows GROUP BY batch_id) d;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(batch_id), array_agg(pending), array_agg(running), array_agg(ok), array_agg(failed), array_agg(cancelled)
          INTO ids, pendings, runnings, oks, faileds, cancelleds
          FROM (SELECT batch_id,
                       -count(*) FILTER (WHERE state = 'PENDING')   AS pending,
                       -count(*) FILTER (WHERE state = 'RUNNING')   AS running,
                       -count(*) FILTER (WHERE state = 'OK')        AS ok,
                       -count(*) FILTER (WHERE state = 'FAILED')    AS failed,
                       -count(*) FILTER (WHERE state = 'CANCELLED') AS cancelled
                  FROM old_rows GROUP BY batch_id) d;
    ELSE
        SELECT array_agg(batch_id), array_agg(pending), array_agg(running), array_agg(ok), array_agg(failed), array_agg(cancelled)
          INTO ids, pendings, runnings, oks, faileds, cancelleds
          FROM (SELECT batch_id,
                       coalesce(sum(n) FILTER (WHERE state = 'PENDING'), 0)::bigint   AS pending,
                       coalesce(sum(n) FILTER (WHERE state = 'RUNNING'), 0)::bigint   AS running,
                       coalesce(sum(n) FILTER (WHERE state = 'OK'), 0)::bigint        AS ok,
                       coalesce(sum(n) FILTER (WHERE state = 'FAILED'), 0)::bigint    AS failed,
                       coalesce(sum(n) FILTER (WHERE state = 'CANCELLED'), 0)::bigint AS cancelled
                  FROM (SELECT batch_id, state, 1 AS n FROM new_rows
                        UNION ALL
                        SELECT batch_id, state, -1 AS n FROM old_rows) u
                 GROUP BY batch_id) d
         WHERE pending <> 0 OR running <> 0 OR ok <> 0 OR failed <> 0 OR cancelled <> 0;
    END IF;
    IF ids IS NULL THEN
        RETURN NULL;
    END IF;
    wanted := cardinality(ids);

    IF TG_OP = 'UPDATE' AND 0 >= ALL (faileds) THEN
        -- Every change takes a job into or out of RUNNING, and none fails a target: a result that
        -- does waits for the row, so that the failure budget is judged on the batch as it stands.
        -- The first two tests are scans that stop at a match, so a cancel of a million PENDING
        -- jobs is told apart without a join.
        claims_and_results := (EXISTS (SELECT 1 FROM new_rows WHERE state = 'RUNNING')
                               OR EXISTS (SELECT 1 FROM old_rows WHERE state = 'RUNNING'))
                              AND NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                                               WHERE o.state <> n.state AND o.state <> 'RUNNING' AND n.state <> 'RUNNING');
    END IF;
    IF claims_and_results THEN
        -- Claims and results that fail nothing never wait for a batch row: where another
        -- transaction holds one (another worker's round trip, a cancel), the change is recorded
        -- in procq.batch_delta instead, for the next holder of the row or the workers' periodic
        -- fold. A job's changes are always folded in the order they were made (a statement that
        -- changes a job sees every earlier change of it committed, and folds it first), so no
        -- counter goes below zero and a batch ends only when every job has. Never waiting, these
        -- statements cannot deadlock on batch rows; the others wait for them in id order.
        SELECT array_agg(id) INTO free
          FROM (SELECT id FROM procq.batch WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE SKIP LOCKED) l;
        IF coalesce(cardinality(free), 0) < wanted THEN
            INSERT INTO procq.batch_delta (batch_id, pending, running, ok, failed, cancelled)
            SELECT t.batch_id, t.pending, t.running, t.ok, t.failed, t.cancelled
              FROM unnest(ids, pendings, runnings, oks, faileds, cancelleds)
                     AS t(batch_id, pending, running, ok, failed, cancelled)
             WHERE t.batch_id <> ALL (coalesce(free, '{}'))
               AND EXISTS (SELECT 1 FROM procq.batch b WHERE b.id = t.batch_id)
             ORDER BY t.batch_id;
            GET DIAGNOSTICS deferred = ROW_COUNT;
            SELECT array_agg(batch_id), array_agg(pending), array_agg(running), array_agg(ok), array_agg(failed), array_agg(cancelled)
              INTO ids, pendings, runnings, oks, faileds, cancelleds
              FROM unnest(ids, pendings, runnings, oks, faileds, cancelleds)
                     AS t(batch_id, pending, running, ok, failed, cancelled)
             WHERE t.batch_id = ANY (coalesce(free, '{}'));
        END IF;
        -- Changes recorded earlier come first.
        IF ids IS NOT NULL AND EXISTS (SELECT 1 FROM procq.batch_delta WHERE batch_id = ANY (ids)) THEN
            PERFORM procq.batch_fold_deltas(ids);
        END IF;
    ELSIF EXISTS (SELECT 1 FROM procq.batch_delta WHERE batch_id = ANY (ids)) THEN
        -- Any other change waits for its batch rows, in id order, and folds in what they lack first.
        PERFORM 1 FROM procq.batch WHERE id = ANY (ids) ORDER BY id FOR NO KEY UPDATE;
        PERFORM procq.batch_fold_deltas(ids);
    END IF;
    IF ids IS NOT NULL THEN
        updated := procq.batch_count_apply(ids, pendings, runnings, oks, faileds, cancelleds);
    END IF;
    -- Rows that arrive in (or move to) a batch need that batch. The statements above have locked
    -- every batch they updated, and a batch whose row another transaction holds (a deletion among
    -- them) was found by its key; the jobs of a batch being deleted are deleted with it
    -- (procq.batch_delete_jobs).
    IF TG_OP <> 'DELETE' AND updated + deferred < wanted THEN
        SELECT min(w.batch_id) INTO missing FROM unnest(ids) AS w(batch_id)
         WHERE NOT EXISTS (SELECT 1 FROM procq.batch b WHERE b.id = w.batch_id);
        RAISE foreign_key_violation USING
            MESSAGE = format('batch %s does not exist', missing),
            DETAIL = 'procq.job.batch_id must name a row of procq.batch',
            TABLE = 'job', SCHEMA = 'procq';
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION procq.job_count_changes() IS 'Statement trigger on procq.job: folds the state changes of one statement into the procq.batch counters (claims and results whose batch row another transaction holds into procq.batch_delta instead), halts a batch whose failure budget those changes exhaust, and refuses rows whose batch does not exist (23503).';
