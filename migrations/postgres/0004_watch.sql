-- The duty watch's alerts (PostgreSQL). Raised in the transaction that writes
-- a fault event; acknowledged once, which is an event of its own.
CREATE TABLE alerts (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seq        BIGINT NOT NULL REFERENCES events (seq),
    kind       TEXT NOT NULL,
    fault_id   BIGINT NOT NULL REFERENCES faults (id),
    cable      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    raised_at  TEXT NOT NULL,
    acked_by   TEXT,
    acked_at   TEXT,
    acked_seq  BIGINT REFERENCES events (seq)
);
CREATE INDEX alerts_open ON alerts (acked_at, id);

-- Every server LISTENs here: a new event's seq, sent when its transaction
-- commits. Servers read the event itself from the table.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cablewatch_events', NEW.seq::text);
    RETURN NEW;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION events_notify();
