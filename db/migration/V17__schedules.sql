-- Recurring batches. A schedule holds a cron expression in a time zone and the body of a
-- POST /api/v1/batches; every api, worker and dev process runs the scheduler loop, and each
-- tick becomes exactly one batch: the process that moves next_run_at from the tick it read to
-- the next one (a compare-and-set on the row, in the transaction that records the batch) makes
-- it, and the unique index on (schedule_id, schedule_tick_at) would refuse a second anyway.

CREATE TABLE procq.schedule (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z][A-Za-z0-9._-]{0,99}$'),
    cron           text        NOT NULL CHECK (length(cron) BETWEEN 1 AND 200),
    time_zone      text        NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 100),
    body           jsonb       NOT NULL CHECK (jsonb_typeof(body) = 'object' AND body ? 'type'),
    type           text        GENERATED ALWAYS AS (body ->> 'type') STORED,
    overlap        text        NOT NULL DEFAULT 'skip'
                               CHECK (overlap IN ('skip', 'queue-one', 'cancel-previous', 'allow')),
    catch_up       text        NOT NULL DEFAULT 'skip-missed' CHECK (catch_up IN ('skip-missed', 'run-once')),
    paused         boolean     NOT NULL DEFAULT false,
    next_run_at    timestamptz,
    queued_tick_at timestamptz,
    last_error     text,
    owner          text        CHECK (owner IS NULL OR length(owner) BETWEEN 1 AND 100),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE  procq.schedule IS 'Recurring batches: each tick of the cron expression (in time_zone) submits body as POST /api/v1/batches would. Pause with UPDATE procq.schedule SET paused = true; every scheduler sees it at its next poll.';
COMMENT ON COLUMN procq.schedule.id IS 'Schedule id, as in /api/v1/schedules/{id} and procq.batch.schedule_id.';
COMMENT ON COLUMN procq.schedule.name IS 'Unique name (a letter, then letters, digits, ., _ or -; at most 100); /api/v1/schedules/{name} works too.';
COMMENT ON COLUMN procq.schedule.cron IS 'Cron expression: six fields with seconds first (Spring: sec min hour day-of-month month day-of-week), or the five fields of Unix cron (no seconds).';
COMMENT ON COLUMN procq.schedule.time_zone IS 'IANA time zone the cron expression is read in (Europe/Berlin, UTC): 02:00 is 02:00 there, across daylight saving changes.';
COMMENT ON COLUMN procq.schedule.body IS 'What each tick submits: the JSON body of POST /api/v1/batches ({"type", "targets"}, or "scan", or "file": {"root", "path"}, with priority, halt and any other batch option). Checked by intake when the schedule is created or changed.';
COMMENT ON COLUMN procq.schedule.type IS 'Job type of the batches (body->>''type''; derived).';
COMMENT ON COLUMN procq.schedule.overlap IS 'When a tick comes while an earlier batch of this schedule is not DONE or CANCELLED: skip (no batch), queue-one (one tick waits in queued_tick_at and runs when none is left), cancel-previous (cancel them, then submit), allow (submit anyway).';
COMMENT ON COLUMN procq.schedule.catch_up IS 'Ticks missed while no scheduler ran (due longer ago than PROCQ_SCHEDULE_MISFIRE_GRACE): skip-missed submits nothing for them, run-once submits one batch for all of them; then the schedule goes on.';
COMMENT ON COLUMN procq.schedule.paused IS 'True: no tick submits anything; setting it back to false starts again from the next tick to come (ticks while paused are not caught up).';
COMMENT ON COLUMN procq.schedule.next_run_at IS 'The next tick to handle; a scheduler moves it on in the transaction that handles the tick. NULL: to be computed from now (after a resume or a change of cron or time_zone).';
COMMENT ON COLUMN procq.schedule.queued_tick_at IS 'overlap queue-one: the tick waiting for the schedule''s earlier batches to end; its batch is submitted, with this tick time, once they have. NULL: none waits.';
COMMENT ON COLUMN procq.schedule.last_error IS 'Why the last tick that should have submitted a batch could not (intake refused the body, e.g. a scan root gone); NULL after one that did.';
COMMENT ON COLUMN procq.schedule.owner IS 'Id of the API token that created the schedule (as procq.batch.owner); its batches get this owner. NULL without tokens.';
COMMENT ON COLUMN procq.schedule.created_at IS 'When the schedule was created.';
COMMENT ON COLUMN procq.schedule.updated_at IS 'When its definition (name, cron, time zone, body, policies, paused) last changed.';

CREATE INDEX schedule_due_idx ON procq.schedule (next_run_at) WHERE NOT paused;
COMMENT ON INDEX procq.schedule_due_idx IS 'The schedules a scheduler poll finds due (ScheduleDao.findDue).';

-- A resume, or a new cron or zone, starts from the next tick to come; the definition's change time.
CREATE FUNCTION procq.schedule_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (OLD.paused AND NOT NEW.paused) OR NEW.cron IS DISTINCT FROM OLD.cron
       OR NEW.time_zone IS DISTINCT FROM OLD.time_zone THEN
        NEW.next_run_at := NULL;
    END IF;
    IF (NEW.name, NEW.cron, NEW.time_zone, NEW.body, NEW.overlap, NEW.catch_up, NEW.paused)
       IS DISTINCT FROM (OLD.name, OLD.cron, OLD.time_zone, OLD.body, OLD.overlap, OLD.catch_up, OLD.paused) THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION procq.schedule_changed() IS 'Before an update of procq.schedule: a resume or a changed cron or time zone clears next_run_at (recomputed from now), a changed definition sets updated_at.';
CREATE TRIGGER schedule_changed BEFORE UPDATE ON procq.schedule FOR EACH ROW EXECUTE FUNCTION procq.schedule_changed();

ALTER TABLE procq.batch
    ADD COLUMN schedule_id bigint REFERENCES procq.schedule (id) ON DELETE SET NULL,
    ADD COLUMN schedule_tick_at timestamptz;
COMMENT ON COLUMN procq.batch.schedule_id IS 'The schedule whose tick submitted the batch; NULL for a batch submitted by a client (or whose schedule was deleted).';
COMMENT ON COLUMN procq.batch.schedule_tick_at IS 'The tick the batch was submitted for (with catch-up run-once, the last of the missed ticks); NULL for a batch submitted by a client.';

CREATE UNIQUE INDEX batch_schedule_tick_idx ON procq.batch (schedule_id, schedule_tick_at) WHERE schedule_id IS NOT NULL;
COMMENT ON INDEX procq.batch_schedule_tick_idx IS 'One batch per schedule and tick; also a schedule''s batches newest tick first (ScheduleDao.recentBatches, activeBatches).';
