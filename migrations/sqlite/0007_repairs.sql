-- Repair operations (SQLite): each fault's repair stage and the ship booked
-- for it (apart from the fault, so a notice import never touches it), and
-- each repair ship's state. Every change is also an event.
CREATE TABLE repairs (
    fault_id   INTEGER PRIMARY KEY REFERENCES faults (id),
    stage      TEXT NOT NULL,
    stage_on   TEXT NOT NULL,
    ship_id    INTEGER REFERENCES assets (id),
    booked_on  TEXT,
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE ship_states (
    asset_id   INTEGER PRIMARY KEY REFERENCES assets (id),
    state      TEXT NOT NULL,
    version    INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
