-- Change how many children of a job type each worker runs at once. Running workers follow
-- within 2 seconds, with no restart; the job-types file only seeds the value the first time.
-- Each worker's global cap (PROCQ_WORKER_CONCURRENCY) still applies. The same as
-- PATCH /api/v1/types/NAME {"concurrency": N}.
--
--   psql "$DB" -v type=thumbnail -v concurrency=16 -f db/ops/set-concurrency.sql
\set ON_ERROR_STOP on
\if :{?type}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the type: psql -v type=NAME -v concurrency=N -f db/ops/set-concurrency.sql'; END $$;
\endif
\if :{?concurrency}
\else
  DO $$ BEGIN RAISE EXCEPTION 'set the concurrency: psql -v type=NAME -v concurrency=N -f db/ops/set-concurrency.sql'; END $$;
\endif

UPDATE procq.job_type SET concurrency = :'concurrency'::int, updated_at = now() WHERE name = :'type'
RETURNING name, concurrency, paused, updated_at;
