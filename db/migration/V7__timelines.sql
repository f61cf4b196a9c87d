-- The database's timelines after a failover, and when procq first ran on each.
--
-- A lease that ran out while PostgreSQL was away says nothing about its holder: nobody could
-- renew. After a restart the rescuer therefore holds back for one lease plus a margin from
-- pg_postmaster_start_time(). A promoted standby is no restart: its postmaster started when the
-- standby did, perhaps weeks before the failover, so that rule sees nothing, and a rescuer that
-- did not notice the outage itself (a worker started during it, or an outage shorter than the
-- rescuer's interval) would take jobs whose holders are alive and about to renew on the new
-- primary. What a promotion does change is the timeline: every promotion starts a new one. The
-- rescuer records when it first runs on each timeline after the first and holds back from then
-- on, as after a restart. Timeline 1 needs no row: it began with the cluster, at its first start.

CREATE TABLE procq.timeline (
    id            integer     PRIMARY KEY CHECK (id > 1),
    first_seen_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE  procq.timeline IS 'One row per PostgreSQL timeline after the first (each promotion of a standby starts one), written by the first rescue that runs on it. Rescue waits one lease plus 5 s after first_seen_at, so that live holders renew on the new primary first.';
COMMENT ON COLUMN procq.timeline.id IS 'Timeline id, as in the first 8 hex digits of the WAL file names (pg_walfile_name(pg_current_wal_lsn())).';
COMMENT ON COLUMN procq.timeline.first_seen_at IS 'When a rescuer first ran on this timeline: shortly after the promoted server began taking writes.';
