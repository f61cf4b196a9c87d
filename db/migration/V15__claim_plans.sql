-- Claims that keep their plan whatever the statistics say.
--
-- A queue's statistics are stale by nature: ANALYZE may have seen procq.job when nearly every
-- row was OK, or in the middle of a batch, and a prepared claim keeps its generic plan, which
-- cannot know its LIMIT (the planner then assumes a tenth of the rows). Measured on B2 (10,000
-- /bin/true at 8, docs/benchmarks.md): with statistics taken mid-batch the claim read every job
-- of the type and sorted them (a sequential scan, 1.5 ms), and set the claimed rows RUNNING
-- through a hash join over the whole table (another 3 ms), where an index scan in claim order
-- and eight primary-key probes take 0.3 ms. The scan in claim order is the only plan that ever
-- makes sense for "the first N waiting jobs, skipping locked ones", so the claim functions plan
-- with sequential scans, bitmap scans and sorts off (their own setting, restored when they
-- return; nothing else is affected). With sorts allowed, another index (job_batch_state_idx, a
-- skip scan on PostgreSQL 18) and a sort of every waiting job of the type could still win.
-- And without JIT: PostgreSQL 15 prices a plan it must take against a disabled setting (a sort
-- of the few ids a claim looks up, say) at 10^10, far over jit_above_cost, and compiled that
-- eight-row look-up for 65 ms on every claim.

CREATE FUNCTION procq.job_claim_pending(type_name text, wanted integer) RETURNS SETOF bigint
    LANGUAGE plpgsql VOLATILE
    SET enable_seqscan = off
    SET enable_bitmapscan = off
    SET enable_sort = off
    SET jit = off
AS $$
BEGIN
    -- Jobs of paused and halted batches (procq.batch_held, V10) are never claimed: the set is
    -- read once per call, from a partial index that holds only those few batches.
    RETURN QUERY
        SELECT j.id FROM procq.job j
         WHERE j.state = 'PENDING' AND j.type = type_name AND j.run_at <= now()
           AND j.batch_id <> ALL (ARRAY(SELECT id FROM procq.batch_held))
         ORDER BY j.priority, j.id
         LIMIT wanted
         FOR UPDATE SKIP LOCKED;
END;
$$;
COMMENT ON FUNCTION procq.job_claim_pending(text, integer) IS 'The first wanted runnable jobs of a type without cluster-wide limits, in claim order (priority, id), locked (SKIP LOCKED) for the caller to set RUNNING; always by the claim index, whatever the statistics say.';

-- procq.job_type_claim (V11, limited types) plans the same way: R__job_type_claim.sql, which
-- counts each key's room once per claim and no longer asks procq.job_key_blocked of every row.
DROP FUNCTION procq.job_key_blocked(text, text, integer, double precision, double precision, timestamptz);
