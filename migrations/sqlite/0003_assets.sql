-- Backup assets (SQLite). Changes are events in the log, like faults.
CREATE TABLE assets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    lon            REAL NOT NULL,
    lat            REAL NOT NULL,
    end_lon        REAL,
    end_lat        REAL,
    region         TEXT NOT NULL,
    capacity_mbps  REAL,
    orbit          TEXT,
    operator       TEXT NOT NULL,
    programme      TEXT NOT NULL,
    home_port      TEXT NOT NULL,
    zone           TEXT NOT NULL,
    notes          TEXT NOT NULL,
    source         TEXT NOT NULL,
    version        INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX assets_kind ON assets (kind, status);
CREATE INDEX assets_region ON assets (region);
