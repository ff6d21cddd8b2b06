-- Notifications: subscriptions (changes are events), the outbox of messages
-- planned from alerts (one per alert and subscription: the unique message
-- id makes planning idempotent) and every delivery attempt.
CREATE TABLE subscriptions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    channel     TEXT NOT NULL,
    target      TEXT NOT NULL,
    -- The webhook signing secret (whsec_…): shown once, never logged.
    secret      TEXT,
    islands     TEXT NOT NULL,
    cables      TEXT NOT NULL,
    kinds       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    removed_at  TEXT
);
CREATE INDEX subscriptions_of ON subscriptions (user_id);

-- The newest alert already planned into the outbox. Starts at the newest
-- alert when this table is made: history is not sent out.
CREATE TABLE notify_cursor (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    last_alert_id  BIGINT NOT NULL
);
INSERT INTO notify_cursor (id, last_alert_id) SELECT 1, COALESCE(MAX(id), 0) FROM alerts;

CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       TEXT NOT NULL UNIQUE,
    subscription_id  BIGINT NOT NULL REFERENCES subscriptions (id),
    alert_id         BIGINT NOT NULL,
    channel          TEXT NOT NULL,
    target           TEXT NOT NULL,
    item_json        TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_at          TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    sent_at          TEXT
);
CREATE INDEX outbox_due ON outbox (state, next_at);
CREATE INDEX outbox_of ON outbox (subscription_id, id);

CREATE TABLE deliveries (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id  BIGINT NOT NULL REFERENCES outbox (id),
    at         TEXT NOT NULL,
    ok         BIGINT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX deliveries_of ON deliveries (outbox_id, id);
