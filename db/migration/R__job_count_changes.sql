-- procq.job_count_changes(): the one current definition of the statement trigger that keeps
-- procq.batch's counters, its failure budget and the batch reference of procq.job.
--
-- A repeatable migration: Flyway runs it after every versioned one, and again whenever this
-- file changes, so a change to the function is an edit here, not another copy in a new V file.
-- V1, V4 and V10 each created or replaced the function before this file existed; they stay as
-- they were applied (migrations are history, and editing one breaks Flyway's validation of every
-- existing install), and this file replaces what they left with the same body as V10's.
-- A versioned migration that needs a newer body must not count on it: R__ runs after it.

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
