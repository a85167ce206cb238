-- Channels are told: webhooks, the outbox of status changes to tell them, and every attempt.

CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY,
    channel_id INTEGER NOT NULL REFERENCES principals(id),
    url TEXT NOT NULL,
    -- The HMAC key (needed in clear to sign).
    secret TEXT NOT NULL,
    -- Order status names, comma-separated.
    events TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX webhooks_by_channel ON webhooks(channel_id);

-- One row per status change per webhook that follows it, written in the transaction of the
-- change. `state` is pending until delivered or given up.
CREATE TABLE webhook_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id),
    order_id INTEGER NOT NULL REFERENCES orders(id),
    status TEXT NOT NULL,
    at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    state TEXT NOT NULL,
    done_at INTEGER
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(next_at) WHERE state = 'pending';
CREATE INDEX webhook_outbox_by_order ON webhook_outbox(webhook_id, order_id, id);

CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY,
    outbox_id INTEGER NOT NULL REFERENCES webhook_outbox(id),
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id),
    order_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    outcome TEXT NOT NULL,
    next_at INTEGER
);
CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts(webhook_id, id);
