-- Exercises (演習): scheduled by an admin, each with its script of injects.
CREATE TABLE exercises (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL,
    starts_at     TEXT NOT NULL,
    ends_at       TEXT NOT NULL,
    injects_json  TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- An exercise's layer: its own events, never in `events`, so no real view
-- can read them. Same shape as `events`, plus the exercise and, for an
-- event a script inject played, the inject's number (played once: unique).
CREATE TABLE exercise_events (
    seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    exercise_id  BIGINT NOT NULL REFERENCES exercises (id),
    inject       BIGINT,
    at           TEXT NOT NULL,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    before_json  TEXT,
    after_json   TEXT,
    UNIQUE (exercise_id, inject)
);
CREATE INDEX exercise_events_of ON exercise_events (exercise_id, seq);

CREATE TRIGGER exercise_events_append_only BEFORE UPDATE OR DELETE ON exercise_events
FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER exercise_events_no_truncate BEFORE TRUNCATE ON exercise_events
FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
