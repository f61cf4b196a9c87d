-- Resume a paused job type: workers claim its jobs again within 2 seconds. The same as
-- PATCH /api/v1/types/NAME {"paused": false}.
--
--   psql "$DB" -v type=thumbnail -f db/ops/resume-type.sql
\set ON_ERROR_STOP on
\if :{?type}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the type: psql -v type=NAME -f db/ops/resume-type.sql'; END $$;
\endif

UPDATE procq.job_type SET paused = false, updated_at = now() WHERE name = :'type'
RETURNING name, concurrency, paused, updated_at;

-- Wake idle workers now rather than at their next poll.
SELECT :'type' AS woke_workers_of_type FROM pg_notify('procq_jobs', :'type');
