-- Cluster-wide limits per job type, enforced by PostgreSQL inside the claim statement, so that
-- no number of workers (nor a crashed one) can run more than the limit: global_concurrency (per
-- type), key_concurrency and key_rate (per key, a part of the target taken at intake), and rate.

ALTER TABLE procq.job_type
    ADD COLUMN global_concurrency integer CHECK (global_concurrency > 0);
COMMENT ON COLUMN procq.job_type.global_concurrency IS 'Most children of this type running at once across all workers (RUNNING rows, counted under a lock in the claim statement); NULL: no cluster-wide limit. Seeded from the file''s globalConcurrency; afterwards this row wins, and an UPDATE reaches the next claim.';
COMMENT ON COLUMN procq.job_type.updated_at IS 'When concurrency, paused or a limit last changed.';

ALTER TABLE procq.job_type
    ADD COLUMN key_concurrency integer CHECK (key_concurrency > 0),
    ADD COLUMN key_rate double precision CHECK (key_rate > 0),
    ADD COLUMN rate double precision CHECK (rate > 0);
COMMENT ON COLUMN procq.job_type.key_concurrency IS 'Most RUNNING jobs with the same key (procq.job.key) across all workers; NULL: none. Jobs without a key are not held by it. Seeded from the file''s keyConcurrency; afterwards this row wins.';
COMMENT ON COLUMN procq.job_type.key_rate IS 'Most starts per second with the same key across all workers, spaced evenly (a burst of at most a tenth of a second''s worth, and at least one); NULL: none. Seeded from the file''s keyRate.';
COMMENT ON COLUMN procq.job_type.rate IS 'Most starts per second of the type across all workers, spaced like key_rate; NULL: none. Seeded from the file''s rate.';

ALTER TABLE procq.job ADD COLUMN key text;
COMMENT ON COLUMN procq.job.key IS 'The key the job type takes from the target (or its meta) at intake, e.g. the host of a URL; per-key limits (procq.job_type.key_concurrency, key_rate) count jobs by it. NULL: no key.';

-- The count of a type's (and a key's) RUNNING rows, taken in every claim of a limited type.
CREATE INDEX job_running_key_idx ON procq.job (type, key) WHERE state = 'RUNNING';

CREATE TABLE procq.job_rate (
    type           text        NOT NULL,
    key            text        NOT NULL,
    next_start_at  timestamptz NOT NULL,
    PRIMARY KEY (type, key)
);
CREATE INDEX job_rate_next_idx ON procq.job_rate (type, next_start_at);
-- Recent starts per key, for procq.job_key_usage; only jobs with a key are in it.
CREATE INDEX job_started_key_idx ON procq.job (type, started_at) WHERE key IS NOT NULL;
-- A claim's second pass goes key by key; only jobs with a key are in it, so types without one pay nothing.
CREATE INDEX job_pending_key_idx ON procq.job (type, key, priority, id) WHERE state = 'PENDING' AND key IS NOT NULL;
COMMENT ON TABLE  procq.job_rate IS 'Where each rate limit stands: one row per type with a rate (key '''') and per key of a type with a key_rate that has started jobs. Written only by the claim statement; a row whose next_start_at has passed means the limit is not holding anything back.';
COMMENT ON COLUMN procq.job_rate.type IS 'Job type.';
COMMENT ON COLUMN procq.job_rate.key IS 'The key (procq.job.key) whose starts are spaced, or '''' for the whole type (procq.job_type.rate).';
COMMENT ON COLUMN procq.job_rate.next_start_at IS 'Starts are spaced 1/rate apart: the next start is due at this time (less the allowed burst). Advanced by 1/rate for each start.';

-- Whether a key may start nothing now: at key_concurrency, or its rate allows no start yet.
CREATE FUNCTION procq.job_key_blocked(type_name text, job_key text, key_concurrency integer, key_rate double precision,
                                      key_burst double precision, ts timestamptz) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, procq
AS $$
    SELECT (key_concurrency IS NOT NULL AND EXISTS (
                SELECT FROM procq.job b
                 WHERE b.type = type_name AND b.key = job_key AND b.state = 'RUNNING'
                OFFSET key_concurrency - 1))
        OR (key_rate IS NOT NULL AND EXISTS (
                SELECT FROM procq.job_rate r
                 WHERE r.type = type_name AND r.key = job_key
                   AND r.next_start_at > ts + (key_burst - 1) / key_rate * interval '1 second'))
$$;
COMMENT ON FUNCTION procq.job_key_blocked(text, text, integer, double precision, double precision, timestamptz) IS 'Used by procq.job_type_claim: true when the key is at key_concurrency or its key_rate allows no start at ts.';

-- How many jobs of a key may start now, at most cap: what key_concurrency and key_rate leave.
CREATE FUNCTION procq.job_key_room(type_name text, job_key text, key_concurrency integer, key_rate double precision,
                                   key_burst double precision, ts timestamptz, cap integer) RETURNS integer
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, procq
AS $$
    SELECT greatest(0, least(cap,
           CASE WHEN key_concurrency IS NULL THEN cap
                ELSE key_concurrency - (SELECT count(*) FROM procq.job b
                                         WHERE b.type = type_name AND b.key = job_key AND b.state = 'RUNNING') END,
           CASE WHEN key_rate IS NULL THEN cap
                ELSE floor(key_burst - greatest(0, extract(epoch FROM coalesce(
                         (SELECT r.next_start_at FROM procq.job_rate r WHERE r.type = type_name AND r.key = job_key), ts)
                         - ts)) * key_rate) END))::integer
$$;
COMMENT ON FUNCTION procq.job_key_room(text, text, integer, double precision, double precision, timestamptz, integer) IS 'Used by procq.job_type_claim: how many jobs of the key may start at ts (at most cap) under key_concurrency and key_rate.';

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
CREATE FUNCTION procq.job_type_claim(type_name text, wanted integer, scan_limit integer)
    RETURNS TABLE (job_id bigint, held_by_global integer, held_by_rate integer, held_by_key integer,
                   retry_at timestamptz)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, procq
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
        FOR pick IN
            SELECT j.id, j.key FROM (
                SELECT id, key, priority FROM procq.job
                 WHERE state = 'PENDING' AND type = type_name AND run_at <= ts
                 ORDER BY priority, id LIMIT scan_limit) j
             WHERE j.key IS NULL OR NOT procq.job_key_blocked(type_name, j.key, t.key_concurrency, t.key_rate, key_burst, ts)
             ORDER BY j.priority, j.id
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
                SELECT min(j.key) INTO next_key FROM procq.job j
                 WHERE j.type = type_name AND j.state = 'PENDING' AND j.key IS NOT NULL
                   AND (prev_key IS NULL OR j.key > prev_key);
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
            SELECT j.id FROM procq.job j WHERE j.id = ANY(candidates) AND j.state = 'PENDING'
               AND j.batch_id <> ALL (held)
             ORDER BY j.priority, j.id FOR UPDATE SKIP LOCKED) p;
        IF t.key_rate IS NOT NULL AND picked IS NOT NULL THEN
            INSERT INTO procq.job_rate AS r (type, key, next_start_at)
            SELECT type_name, j.key, ts + count(*) / t.key_rate * interval '1 second'
              FROM procq.job j WHERE j.id = ANY(picked) AND j.key IS NOT NULL GROUP BY j.key
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

-- Every type's limits beside its use now, for operators in psql.
CREATE VIEW procq.job_type_usage AS
SELECT t.name, t.concurrency, t.global_concurrency, t.key_concurrency, t.key_rate, t.rate, t.paused,
       (SELECT count(*) FROM procq.job j WHERE j.type = t.name AND j.state = 'RUNNING') AS running,
       (SELECT count(DISTINCT j.worker_id) FROM procq.job j WHERE j.type = t.name AND j.state = 'RUNNING') AS workers
  FROM procq.job_type t;
COMMENT ON VIEW procq.job_type_usage IS 'Each job type''s live limits and how many of its jobs run now, in all and on how many workers.';
COMMENT ON COLUMN procq.job_type_usage.name IS 'Job type.';
COMMENT ON COLUMN procq.job_type_usage.concurrency IS 'Most children per worker (procq.job_type.concurrency).';
COMMENT ON COLUMN procq.job_type_usage.global_concurrency IS 'Most children across all workers; NULL: no cluster-wide limit.';
COMMENT ON COLUMN procq.job_type_usage.key_concurrency IS 'Most running per key across all workers; NULL: none.';
COMMENT ON COLUMN procq.job_type_usage.key_rate IS 'Most starts per second per key across all workers; NULL: none.';
COMMENT ON COLUMN procq.job_type_usage.rate IS 'Most starts per second of the type across all workers; NULL: none.';
COMMENT ON COLUMN procq.job_type_usage.paused IS 'true: no worker claims this type.';
COMMENT ON COLUMN procq.job_type_usage.running IS 'RUNNING jobs of the type across all workers.';
COMMENT ON COLUMN procq.job_type_usage.workers IS 'Workers holding RUNNING jobs of the type.';

-- Keys in use now: what the per-key limits are counting.
CREATE VIEW procq.job_key_usage AS
SELECT j.type, j.key,
       count(*) FILTER (WHERE j.state = 'RUNNING') AS running,
       count(*) FILTER (WHERE j.started_at > now() - interval '1 minute') AS started_last_minute,
       round(count(*) FILTER (WHERE j.started_at > now() - interval '10 seconds') / 10.0, 1) AS starts_per_second
  FROM procq.job j
 WHERE j.key IS NOT NULL AND (j.state = 'RUNNING' OR j.started_at > now() - interval '1 minute')
 GROUP BY j.type, j.key;
COMMENT ON VIEW procq.job_key_usage IS 'Each key (procq.job.key) with jobs running now or started in the last minute: what key_concurrency and key_rate count. Keys of finished jobs leave after a minute.';
COMMENT ON COLUMN procq.job_key_usage.type IS 'Job type.';
COMMENT ON COLUMN procq.job_key_usage.key IS 'The key taken from the targets, e.g. a host.';
COMMENT ON COLUMN procq.job_key_usage.running IS 'RUNNING jobs with this key across all workers (held to key_concurrency).';
COMMENT ON COLUMN procq.job_key_usage.started_last_minute IS 'Jobs with this key whose latest attempt started in the last minute.';
COMMENT ON COLUMN procq.job_key_usage.starts_per_second IS 'Starts per second with this key over the last 10 seconds (held to key_rate).';
