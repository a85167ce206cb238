-- rendan network watch: slices, samples, incidents and their timelines, maintenance windows.
-- Instants are Unix milliseconds (UTC); slice starts are Unix seconds.

CREATE TABLE slices (
    node       TEXT    NOT NULL,
    start      INTEGER NOT NULL,
    len_s      INTEGER NOT NULL CHECK (len_s > 0),
    state      TEXT    NOT NULL CHECK (state IN ('UP', 'DEGRADED', 'DOWN', 'MAINTENANCE', 'NO_DATA')),
    measured   TEXT    NOT NULL CHECK (measured IN ('UP', 'DEGRADED', 'DOWN', 'MAINTENANCE', 'NO_DATA')),
    reporters  INTEGER NOT NULL,
    down_votes INTEGER NOT NULL,
    PRIMARY KEY (start, node)
) WITHOUT ROWID;

-- A closed slice is a fact about the past: the database itself refuses to change it.
CREATE TRIGGER slices_never_rewritten BEFORE UPDATE ON slices
BEGIN
    SELECT RAISE(ABORT, 'slices are never rewritten after their period closes');
END;

CREATE TRIGGER slices_never_deleted BEFORE DELETE ON slices
BEGIN
    SELECT RAISE(ABORT, 'slices are never deleted');
END;

CREATE TABLE samples (
    id        INTEGER PRIMARY KEY,
    node      TEXT    NOT NULL,
    class     TEXT    NOT NULL,
    at_ms     INTEGER NOT NULL,
    rtt_ms    REAL,
    sent      INTEGER NOT NULL,
    received  INTEGER NOT NULL,
    jitter_ms REAL
);
CREATE INDEX samples_at ON samples (at_ms);

CREATE TABLE incidents (
    id           INTEGER PRIMARY KEY,
    node         TEXT    NOT NULL,
    opened_at_ms INTEGER NOT NULL,
    closed_at_ms INTEGER CHECK (closed_at_ms IS NULL OR closed_at_ms >= opened_at_ms)
);
CREATE INDEX incidents_node ON incidents (node, opened_at_ms);

CREATE TABLE incident_events (
    id       INTEGER PRIMARY KEY,
    incident INTEGER NOT NULL REFERENCES incidents (id),
    at_ms    INTEGER NOT NULL,
    kind     TEXT    NOT NULL,
    detail   TEXT    NOT NULL
);
CREATE INDEX incident_events_incident ON incident_events (incident, id);

CREATE TABLE maintenance (
    id         INTEGER PRIMARY KEY,
    scope_kind TEXT    NOT NULL CHECK (scope_kind IN ('node', 'region')),
    scope      TEXT    NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('one_off', 'weekly')),
    start_ms   INTEGER,
    end_ms     INTEGER,
    weekday    INTEGER CHECK (weekday IS NULL OR weekday BETWEEN 1 AND 7),
    at_local   TEXT,
    length_s   INTEGER,
    tz         TEXT,
    note       TEXT    NOT NULL DEFAULT '',
    CHECK (kind <> 'one_off' OR (start_ms IS NOT NULL AND end_ms > start_ms)),
    CHECK (kind <> 'weekly' OR (weekday IS NOT NULL AND at_local IS NOT NULL AND length_s > 0 AND tz IS NOT NULL))
);
