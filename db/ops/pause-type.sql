-- Pause a job type: no worker claims jobs of it from the next refresh (within 2 seconds);
-- children already running finish. Resume with resume-type.sql. The same as
-- PATCH /api/v1/types/NAME {"paused": true}.
--
--   psql "$DB" -v type=thumbnail -f db/ops/pause-type.sql
\set ON_ERROR_STOP on
\if :{?type}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the type: psql -v type=NAME -f db/ops/pause-type.sql'; END $$;
\endif

UPDATE procq.job_type SET paused = true, updated_at = now() WHERE name = :'type'
RETURNING name, concurrency, paused, updated_at;
-- No row? A type gets its row when a worker that runs it first starts (seeded from the job-types file).
