-- Island resilience (PostgreSQL). Officers' figures laid over the
-- compiled-in defaults (every edit is also an event); each island's last
-- status, so that a write which changes it raises an alert; island alerts
-- name a region and no fault. A fault may carry the share of the cable's
-- capacity it takes away, as an officer judged it (NULL: its kind's default).
CREATE TABLE figures (
    key        TEXT PRIMARY KEY,
    value      DOUBLE PRECISION,
    basis      TEXT NOT NULL,
    source     TEXT NOT NULL,
    set_by     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE island_status (
    region TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    seq    BIGINT NOT NULL REFERENCES events (seq)
);
ALTER TABLE alerts ALTER COLUMN fault_id DROP NOT NULL;
ALTER TABLE alerts ADD COLUMN region TEXT;
ALTER TABLE faults ADD COLUMN capacity_lost_pct DOUBLE PRECISION;
