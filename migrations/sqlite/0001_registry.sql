-- The event log and the current-state tables behind it (SQLite).
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    before_json  TEXT,
    after_json   TEXT
);
CREATE INDEX events_entity ON events (entity_type, entity_id, seq);

-- The log is append-only: nothing may change or remove an event.
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

CREATE TABLE cables (
    abbrev     TEXT PRIMARY KEY,
    data_json  TEXT NOT NULL
);

CREATE TABLE stations (
    id         TEXT PRIMARY KEY,
    data_json  TEXT NOT NULL
);

CREATE TABLE faults (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    fault_key              TEXT NOT NULL UNIQUE,
    cable                  TEXT NOT NULL REFERENCES cables (abbrev),
    detected_on            TEXT,
    kind                   TEXT NOT NULL,
    description            TEXT NOT NULL,
    place                  TEXT NOT NULL,
    station                TEXT,
    km                     REAL NOT NULL,
    alternate_routes_json  TEXT NOT NULL,
    eta_precision          TEXT NOT NULL,
    eta_date               TEXT,
    status                 TEXT NOT NULL,
    restored_on            TEXT,
    notes                  TEXT NOT NULL,
    provenance             TEXT NOT NULL,
    version                INTEGER NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX faults_cable ON faults (cable);

CREATE TABLE maintenance (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    cable                  TEXT NOT NULL REFERENCES cables (abbrev),
    eta_precision          TEXT NOT NULL,
    eta_date               TEXT,
    description            TEXT NOT NULL,
    alternate_routes_json  TEXT NOT NULL,
    status                 TEXT NOT NULL,
    completed_on           TEXT,
    provenance             TEXT NOT NULL,
    version                INTEGER NOT NULL
);

CREATE TABLE notices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    dated        TEXT,
    imported_at  TEXT NOT NULL,
    actor        TEXT NOT NULL,
    body         TEXT NOT NULL
);
