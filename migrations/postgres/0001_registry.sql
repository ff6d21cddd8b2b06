-- The event log and the current-state tables behind it (PostgreSQL).
CREATE TABLE events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only';
END $$;
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

CREATE TABLE cables (
    abbrev     TEXT PRIMARY KEY,
    data_json  TEXT NOT NULL
);

CREATE TABLE stations (
    id         TEXT PRIMARY KEY,
    data_json  TEXT NOT NULL
);

CREATE TABLE faults (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fault_key              TEXT NOT NULL UNIQUE,
    cable                  TEXT NOT NULL REFERENCES cables (abbrev),
    detected_on            TEXT,
    kind                   TEXT NOT NULL,
    description            TEXT NOT NULL,
    place                  TEXT NOT NULL,
    station                TEXT,
    km                     DOUBLE PRECISION NOT NULL,
    alternate_routes_json  TEXT NOT NULL,
    eta_precision          TEXT NOT NULL,
    eta_date               TEXT,
    status                 TEXT NOT NULL,
    restored_on            TEXT,
    notes                  TEXT NOT NULL,
    provenance             TEXT NOT NULL,
    version                BIGINT NOT NULL,
    created_at             TEXT NOT NULL,
    updated_at             TEXT NOT NULL
);
CREATE INDEX faults_cable ON faults (cable);

CREATE TABLE maintenance (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cable                  TEXT NOT NULL REFERENCES cables (abbrev),
    eta_precision          TEXT NOT NULL,
    eta_date               TEXT,
    description            TEXT NOT NULL,
    alternate_routes_json  TEXT NOT NULL,
    status                 TEXT NOT NULL,
    completed_on           TEXT,
    provenance             TEXT NOT NULL,
    version                BIGINT NOT NULL
);

CREATE TABLE notices (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dated        TEXT,
    imported_at  TEXT NOT NULL,
    actor        TEXT NOT NULL,
    body         TEXT NOT NULL
);
