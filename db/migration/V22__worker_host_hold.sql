-- A worker holding new starts for its host's sake (PROCQ_WORKER_MEMFREE, PROCQ_WORKER_MAX_LOAD,
-- PROCQ_WORKER_MAX_PRESSURE) is idle with work waiting: the workers page and GET /api/v1/workers
-- say why. The lease keeper writes it when it changes, in a statement of its own: a role without the
-- grant loses this display, never a lease.
ALTER TABLE procq.worker ADD COLUMN host_hold text CHECK (host_hold IN ('memory', 'load', 'pressure'));
COMMENT ON COLUMN procq.worker.host_hold IS 'Why the worker holds new starts now, as of its last heartbeat: memory (available memory below PROCQ_WORKER_MEMFREE), load (PROCQ_WORKER_MAX_LOAD) or pressure (PROCQ_WORKER_MAX_PRESSURE); NULL while it starts children as usual, and once it stopped.';
