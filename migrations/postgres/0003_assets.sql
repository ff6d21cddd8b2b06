-- Backup assets (PostgreSQL). Changes are events in the log, like faults.
CREATE TABLE assets (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL,
    status         TEXT NOT NULL,
    lon            DOUBLE PRECISION NOT NULL,
    lat            DOUBLE PRECISION NOT NULL,
    end_lon        DOUBLE PRECISION,
    end_lat        DOUBLE PRECISION,
    region         TEXT NOT NULL,
    capacity_mbps  DOUBLE PRECISION,
    orbit          TEXT,
    operator       TEXT NOT NULL,
    programme      TEXT NOT NULL,
    home_port      TEXT NOT NULL,
    zone           TEXT NOT NULL,
    notes          TEXT NOT NULL,
    source         TEXT NOT NULL,
    version        BIGINT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX assets_kind ON assets (kind, status);
CREATE INDEX assets_region ON assets (region);
