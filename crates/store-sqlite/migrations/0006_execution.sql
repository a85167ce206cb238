-- What happens at the door: crew principals, the visits that went out and the crews' events.

-- A crew principal speaks for one crew.
ALTER TABLE principals ADD COLUMN crew INTEGER REFERENCES crews(id);

-- One row per visit that went out on a published day: the appointment as dispatched (crew,
-- position, window), and the outcome of its stop events applied so far. An order has one row
-- per attempt.
CREATE TABLE visit_attempts (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    day TEXT NOT NULL,
    depot TEXT NOT NULL REFERENCES sites(id),
    crew INTEGER NOT NULL REFERENCES crews(id),
    position INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    dispatched_at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT,
    haul_away_received INTEGER NOT NULL,
    -- Why the latest outcome of its events could not change the order (it had moved on).
    unapplied TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (order_id, day)
) WITHOUT ROWID;
CREATE INDEX visit_attempts_by_day ON visit_attempts(depot, day);
CREATE INDEX visit_attempts_by_crew ON visit_attempts(crew, day);

-- Every event a crew reported, as reported (device time in microseconds); kept whether it
-- took effect or not. Append-only.
CREATE TABLE stop_events (
    event_id TEXT PRIMARY KEY,
    order_id INTEGER NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    reason TEXT,
    proof INTEGER NOT NULL,
    photo_sha256 TEXT,
    signature_sha256 TEXT,
    fingerprint TEXT NOT NULL,
    posted_by INTEGER NOT NULL REFERENCES principals(id),
    received_at INTEGER NOT NULL,
    FOREIGN KEY (order_id, day) REFERENCES visit_attempts(order_id, day)
);
CREATE INDEX stop_events_by_visit ON stop_events(order_id, day);
CREATE TRIGGER stop_events_append_only_update BEFORE UPDATE ON stop_events
BEGIN SELECT RAISE(ABORT, 'stop_events is append-only'); END;
CREATE TRIGGER stop_events_append_only_delete BEFORE DELETE ON stop_events
BEGIN SELECT RAISE(ABORT, 'stop_events is append-only'); END;
