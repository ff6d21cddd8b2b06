-- Island resilience (SQLite). Officers' figures laid over the compiled-in
-- defaults (every edit is also an event); each island's last status, so that
-- a write which changes it raises an alert; island alerts name a region and
-- no fault. A fault may carry the share of the cable's capacity it takes
-- away, as an officer judged it (NULL: the default for its kind).
CREATE TABLE figures (
    key        TEXT PRIMARY KEY,
    value      REAL,
    basis      TEXT NOT NULL,
    source     TEXT NOT NULL,
    set_by     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE island_status (
    region TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    seq    INTEGER NOT NULL REFERENCES events (seq)
);
CREATE TABLE alerts_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    seq        INTEGER NOT NULL REFERENCES events (seq),
    kind       TEXT NOT NULL,
    fault_id   INTEGER REFERENCES faults (id),
    region     TEXT,
    cable      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    raised_at  TEXT NOT NULL,
    acked_by   TEXT,
    acked_at   TEXT,
    acked_seq  INTEGER REFERENCES events (seq)
);
INSERT INTO alerts_new (id, seq, kind, fault_id, region, cable, summary, raised_at, acked_by, acked_at, acked_seq)
    SELECT id, seq, kind, fault_id, NULL, cable, summary, raised_at, acked_by, acked_at, acked_seq FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE INDEX alerts_open ON alerts (acked_at, id);
ALTER TABLE faults ADD COLUMN capacity_lost_pct REAL;
