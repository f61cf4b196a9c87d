-- Where each worker run serves /metrics.
--
-- Several workers may run on one host with the same environment. When PROCQ_WORKER_METRICS_PORT
-- is not set and its default (9464) is taken, a worker takes the next free port instead of
-- refusing to start, so the port a scraper must ask is no longer known in advance: each worker
-- records the port it took.

ALTER TABLE procq.worker
    ADD COLUMN metrics_port integer CHECK (metrics_port BETWEEN 1 AND 65535);

COMMENT ON COLUMN procq.worker.metrics_port IS 'TCP port of the worker''s /metrics on its host (listening on PROCQ_HTTP_HOST): PROCQ_WORKER_METRICS_PORT, or the free port it took when the default was in use; NULL when metrics are off or the worker runs inside another process (procq dev).';
