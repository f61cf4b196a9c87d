-- procq.job_type_claim: the claim of one job type that has a cluster-wide limit. Created in V11;
-- this file is its one current definition (Flyway applies a repeatable migration after the
-- versioned ones whenever its text changes), so a change to the claim goes here.
--
-- Planned without sequential scans, bitmap scans or sorts whatever the statistics say (see V15
-- for why; a look-up of a few ids still sorts them, having no other way).
-- Two look-ups by id spell their other condition as "(...) IS TRUE": written plainly,
-- "state = 'PENDING'" or "key IS NOT NULL" lets the planner read a whole partial index
-- (job_pending_claim_idx; job_started_key_idx, until V21) and filter it by id when stale statistics make
-- that index look small; measured on B2k with statistics from before the batch, those two
-- look-ups took 2.5 and 4.2 ms a claim, against a few primary-key probes now.
--
-- Its statements always run their generic plans (plan_cache_mode, like the settings above, set
-- for the call only). With those settings a generic plan prices the sort of a few ids it cannot
-- avoid at 10^10, so PostgreSQL judged every generic plan dearer than a custom one and planned
-- the function's statements anew on every claim: a quarter of its time. Measured with pgbench,
-- one backend, a claim of 8 at 10,000 waiting jobs (server CPU per claim): a type with a
-- globalConcurrency 0.61 -> 0.23 ms, a keyed type 1.4 -> 0.8 ms. The plans themselves are the
-- generic ones store/ClaimPlanTest checks.

-- How many jobs of a key may start at ts (at most cap) under key_concurrency and key_rate. In
-- PL/pgSQL, whose statements keep their plans: the SQL function it replaces, having a SET clause
-- and sub-selects, was never inlined and planned its query again in every claim's transaction.
-- Its caller, procq.job_type_claim, sets search_path and the plan settings.
CREATE OR REPLACE FUNCTION procq.job_key_room(type_name text, job_key text, key_concurrency integer,
                                              key_rate double precision, key_burst double precision,
                                              ts timestamptz, cap integer) RETURNS integer
    LANGUAGE plpgsql STABLE
AS $$
DECLARE
    room integer := cap;
    running bigint;
    next_start timestamptz;
BEGIN
    IF key_concurrency IS NOT NULL THEN
        SELECT count(*) INTO running FROM procq.job b
         WHERE b.type = type_name AND b.key = job_key AND b.state = 'RUNNING';
        room := least(room, key_concurrency - running);
    END IF;
    IF key_rate IS NOT NULL THEN
        SELECT r.next_start_at INTO next_start FROM procq.job_rate r WHERE r.type = type_name AND r.key = job_key;
        room := least(room, floor(key_burst - greatest(0, extract(epoch FROM coalesce(next_start, ts) - ts)) * key_rate)::integer);
    END IF;
    RETURN greatest(0, room);
END
$$;

-- The claim of one type that has any cluster-wide limit, chosen in full here, under a
-- transaction-level advisory lock per type held until the claim commits: workers claiming the
-- same limited type take turns. The claim statement's snapshot cannot see claims other workers
-- committed since it began, so every count and every choice runs here: a VOLATILE function
-- takes a fresh snapshot for each of its queries. Correct only in READ COMMITTED, where claims
-- run (autocommit). Returns the jobs claimed (locked, still to be set RUNNING by the caller),
-- then one row (job_id NULL) saying what each limit held back and when a rate next allows a
-- start (retry_at), so a worker sleeps until then instead of asking again and again.
--
-- A hot key cannot make a claim long nor starve the other keys: the first pass reads at most
-- scan_limit waiting jobs in claim order and leaves out the blocked keys' (at key_concurrency, or
-- no start allowed by key_rate yet); if that finds too few, a second pass visits at most
-- scan_limit keys with waiting jobs, one index probe each, and takes each free key's first jobs.
CREATE OR REPLACE FUNCTION procq.job_type_claim(type_name text, wanted integer, scan_limit integer)
    RETURNS TABLE (job_id bigint, held_by_global integer, held_by_rate integer, held_by_key integer,
                   retry_at timestamptz)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, procq
    SET enable_seqscan = off
    SET enable_bitmapscan = off
    SET enable_sort = off
    SET jit = off
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    t procq.job_type%ROWTYPE;
    ts timestamptz;
    room integer;
    after_global integer;
    available integer;
    running bigint;
    type_next timestamptz;
    type_burst double precision;
    key_burst double precision;
    rate_room integer;
    next_retry timestamptz;
    candidates bigint[] := '{}';
    seen_keys text[] := '{}';
    key_rooms integer[] := '{}';
    picked bigint[];
    pick record;
    i integer;
    visited integer := 0;
    prev_key text;
    next_key text;
    -- Paused and halted batches claim nothing (V10): their jobs are never picked here either.
    held bigint[] := ARRAY(SELECT id FROM procq.batch_held);
BEGIN
    -- 0x70726f71 ('proq'): procq's class of advisory locks for cluster-wide limits, one per type.
    PERFORM pg_advisory_xact_lock(1886547825, hashtext(type_name));
    SELECT * INTO t FROM procq.job_type WHERE name = type_name;
    ts := clock_timestamp();
    room := greatest(wanted, 0);

    SELECT count(*) INTO available FROM (
        SELECT 1 FROM procq.job j WHERE j.state = 'PENDING' AND j.type = type_name AND j.run_at <= ts
         LIMIT room) waiting;
    IF available = 0 THEN
        RETURN QUERY SELECT NULL::bigint, 0, 0, 0, NULL::timestamptz;
        RETURN;
    END IF;

    IF t.global_concurrency IS NOT NULL THEN
        SELECT count(*) INTO running FROM procq.job j WHERE j.type = type_name AND j.state = 'RUNNING';
        room := greatest(0, least(room, t.global_concurrency - running))::integer;
    END IF;
    after_global := room;

    IF t.rate IS NOT NULL THEN
        type_burst := greatest(1, floor(t.rate / 10));
        SELECT r.next_start_at INTO type_next FROM procq.job_rate r WHERE r.type = type_name AND r.key = '';
        rate_room := floor(type_burst - greatest(0, extract(epoch FROM coalesce(type_next, ts) - ts)) * t.rate)::integer;
        IF rate_room < least(room, available) THEN
            next_retry := coalesce(type_next, ts) - (type_burst - 1) / t.rate * interval '1 second';
        END IF;
        room := greatest(0, least(room, rate_room));
    END IF;

    IF room > 0 AND t.key_concurrency IS NULL AND t.key_rate IS NULL THEN
        SELECT array_agg(p.id) INTO picked FROM (
            SELECT j.id FROM procq.job j
             WHERE j.state = 'PENDING' AND j.type = type_name AND j.run_at <= ts
               AND j.batch_id <> ALL (held)
             ORDER BY j.priority, j.id LIMIT room FOR UPDATE SKIP LOCKED) p;
    ELSIF room > 0 THEN
        key_burst := greatest(1, floor(coalesce(t.key_rate, 10) / 10));
        -- First pass: the first scan_limit waiting jobs in claim order, less the blocked keys'.
        -- Each key's room is counted once (key_rooms); the rows of a key with none left are
        -- passed over here, not filtered in the query, which had asked for every one of them.
        FOR pick IN
            SELECT id, key FROM procq.job
             WHERE state = 'PENDING' AND type = type_name AND run_at <= ts
             ORDER BY priority, id LIMIT scan_limit
        LOOP
            IF pick.key IS NULL THEN
                candidates := candidates || pick.id;
            ELSE
                i := array_position(seen_keys, pick.key);
                IF i IS NULL THEN
                    seen_keys := seen_keys || pick.key;
                    key_rooms := key_rooms || procq.job_key_room(type_name, pick.key, t.key_concurrency, t.key_rate,
                                                                 key_burst, ts, room);
                    i := cardinality(seen_keys);
                END IF;
                IF key_rooms[i] > 0 THEN
                    candidates := candidates || pick.id;
                    key_rooms[i] := key_rooms[i] - 1;
                END IF;
            END IF;
            EXIT WHEN cardinality(candidates) >= room;
        END LOOP;
        -- Second pass, when the first came short (one hot key filling the head of the queue):
        -- key by key (a skip scan of job_pending_key_idx), each key's first jobs.
        IF cardinality(candidates) < room THEN
            prev_key := NULL;
            LOOP
                -- Two statements, not "prev_key IS NULL OR j.key > prev_key": a plan cached for
                -- the OR cannot start the index scan after prev_key, and walked every waiting job
                -- of a hot key on each probe (135 ms a claim with 90,000 of them).
                IF prev_key IS NULL THEN
                    SELECT min(j.key) INTO next_key FROM procq.job j
                     WHERE j.type = type_name AND j.state = 'PENDING' AND j.key IS NOT NULL;
                ELSE
                    SELECT min(j.key) INTO next_key FROM procq.job j
                     WHERE j.type = type_name AND j.state = 'PENDING' AND j.key IS NOT NULL AND j.key > prev_key;
                END IF;
                EXIT WHEN next_key IS NULL;
                visited := visited + 1;
                EXIT WHEN visited > scan_limit;
                prev_key := next_key;
                i := array_position(seen_keys, next_key);
                IF i IS NULL THEN
                    seen_keys := seen_keys || next_key;
                    key_rooms := key_rooms || procq.job_key_room(type_name, next_key, t.key_concurrency, t.key_rate,
                                                                 key_burst, ts, room);
                    i := cardinality(seen_keys);
                END IF;
                IF key_rooms[i] > 0 THEN
                    candidates := candidates || ARRAY(
                        SELECT j.id FROM procq.job j
                         WHERE j.type = type_name AND j.state = 'PENDING' AND j.key = next_key AND j.run_at <= ts
                           AND j.id <> ALL(candidates)
                         ORDER BY j.priority, j.id
                         LIMIT least(key_rooms[i], room - cardinality(candidates)));
                    key_rooms[i] := 0;
                END IF;
                EXIT WHEN cardinality(candidates) >= room;
            END LOOP;
        END IF;
        -- An operator's cancel may have taken one meanwhile: only what is still PENDING is claimed.
        SELECT array_agg(p.id) INTO picked FROM (
            SELECT j.id FROM procq.job j WHERE j.id = ANY(candidates) AND (j.state = 'PENDING') IS TRUE
               AND j.batch_id <> ALL (held)
             ORDER BY j.priority, j.id FOR UPDATE SKIP LOCKED) p;
        IF t.key_rate IS NOT NULL AND picked IS NOT NULL THEN
            INSERT INTO procq.job_rate AS r (type, key, next_start_at)
            SELECT type_name, j.key, ts + count(*) / t.key_rate * interval '1 second'
              FROM procq.job j WHERE j.id = ANY(picked) AND (j.key IS NOT NULL) IS TRUE GROUP BY j.key
            ON CONFLICT (type, key) DO UPDATE
               SET next_start_at = greatest(r.next_start_at, ts)
                                   + (excluded.next_start_at - ts);
        END IF;
        IF t.key_rate IS NOT NULL AND coalesce(cardinality(picked), 0) < least(room, available) THEN
            -- the earliest a key held back by its rate may start again
            SELECT least(next_retry, min(r.next_start_at) - (key_burst - 1) / t.key_rate * interval '1 second')
              INTO next_retry
              FROM procq.job_rate r
             WHERE r.type = type_name AND r.key <> ''
               AND r.next_start_at > ts + (key_burst - 1) / t.key_rate * interval '1 second';
        END IF;
    END IF;

    IF t.rate IS NOT NULL AND picked IS NOT NULL THEN
        INSERT INTO procq.job_rate AS r (type, key, next_start_at)
        VALUES (type_name, '', ts + cardinality(picked) / t.rate * interval '1 second')
        ON CONFLICT (type, key) DO UPDATE
           SET next_start_at = greatest(r.next_start_at, ts) + (excluded.next_start_at - ts);
    END IF;

    RETURN QUERY SELECT unnest(coalesce(picked, '{}')), NULL::integer, NULL::integer, NULL::integer,
                        NULL::timestamptz;
    RETURN QUERY SELECT NULL::bigint,
                        greatest(0, least(available, wanted) - after_global),
                        greatest(0, least(available, after_global) - greatest(room, 0)),
                        greatest(0, least(available, greatest(room, 0)) - coalesce(cardinality(picked), 0)),
                        next_retry;
END
$$;
COMMENT ON FUNCTION procq.job_type_claim(text, integer, integer) IS 'Claim statement only: chooses and locks up to wanted PENDING jobs of a type with cluster-wide limits (global_concurrency, rate, key_concurrency, key_rate) under a per-type lock, with fresh counts; then one row with what each limit held back and when a rate next allows a start.';
