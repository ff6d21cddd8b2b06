-- The duty watch's alerts (SQLite). Raised in the transaction that writes a
-- fault event; acknowledged once, which is an event of its own.
CREATE TABLE alerts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    seq        INTEGER NOT NULL REFERENCES events (seq),
    kind       TEXT NOT NULL,
    fault_id   INTEGER NOT NULL REFERENCES faults (id),
    cable      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    raised_at  TEXT NOT NULL,
    acked_by   TEXT,
    acked_at   TEXT,
    acked_seq  INTEGER REFERENCES events (seq)
);
CREATE INDEX alerts_open ON alerts (acked_at, id);
