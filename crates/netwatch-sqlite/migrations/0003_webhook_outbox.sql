-- Incident notices go through an outbox written in the transaction that opens or closes the
-- incident, and are delivered from it (at least once, in order per webhook and node, retried
-- with back-off for 24 hours, across restarts), as the platform's order webhooks are.
CREATE TABLE webhook_outbox (
    id              INTEGER PRIMARY KEY,
    url             TEXT    NOT NULL,
    incident        INTEGER NOT NULL REFERENCES incidents (id),
    event           TEXT    NOT NULL CHECK (event IN ('incident.opened', 'incident.closed')),
    created_at_ms   INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at_ms      INTEGER NOT NULL,
    delivered_at_ms INTEGER,
    gave_up_at_ms   INTEGER,
    last_error      TEXT
);
CREATE INDEX webhook_outbox_pending ON webhook_outbox (url, incident)
    WHERE delivered_at_ms IS NULL AND gave_up_at_ms IS NULL;
