-- Maintenance windows become an append-only history: creating, changing and deleting a window
-- each add a version with who and when; nothing is edited in place. Reports lay the versions
-- over the observed slices, so slices keep what was measured (`state` is written equal to
-- `measured` from now on; older rows may still say MAINTENANCE there, and reports read
-- `measured`).

-- A window created through the API carries the Idempotency-Key it was created under, so a
-- retried POST finds it instead of creating a second one.
CREATE TABLE maintenance_windows (
    id              INTEGER PRIMARY KEY,
    created_at_ms   INTEGER NOT NULL,
    principal       TEXT,
    idempotency_key TEXT,
    request         BLOB,
    UNIQUE (principal, idempotency_key)
);

CREATE TABLE maintenance_versions (
    window         INTEGER NOT NULL REFERENCES maintenance_windows (id),
    version        INTEGER NOT NULL CHECK (version >= 1),
    recorded_at_ms INTEGER NOT NULL,
    recorded_by    TEXT    NOT NULL,
    deleted        INTEGER NOT NULL CHECK (deleted IN (0, 1)),
    emergency      INTEGER NOT NULL DEFAULT 0 CHECK (emergency IN (0, 1)),
    scope_kind     TEXT    CHECK (scope_kind IN ('node', 'region')),
    scope          TEXT,
    kind           TEXT    CHECK (kind IN ('one_off', 'weekly')),
    start_ms       INTEGER,
    end_ms         INTEGER,
    weekday        INTEGER CHECK (weekday IS NULL OR weekday BETWEEN 1 AND 7),
    at_local       TEXT,
    length_s       INTEGER,
    tz             TEXT,
    note           TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (window, version),
    CHECK (deleted = 1 OR (scope_kind IS NOT NULL AND scope IS NOT NULL AND kind IS NOT NULL)),
    CHECK (deleted = 1 OR kind <> 'one_off' OR (start_ms IS NOT NULL AND end_ms > start_ms)),
    CHECK (deleted = 1 OR kind <> 'weekly' OR (weekday IS NOT NULL AND at_local IS NOT NULL AND length_s > 0 AND tz IS NOT NULL))
) WITHOUT ROWID;

CREATE TRIGGER maintenance_versions_never_rewritten BEFORE UPDATE ON maintenance_versions
BEGIN
    SELECT RAISE(ABORT, 'maintenance versions are never rewritten');
END;

CREATE TRIGGER maintenance_versions_never_deleted BEFORE DELETE ON maintenance_versions
BEGIN
    SELECT RAISE(ABORT, 'maintenance versions are never deleted');
END;

-- Windows recorded before versions existed keep their ids and count as announced long ago.
INSERT INTO maintenance_windows (id, created_at_ms) SELECT id, 0 FROM maintenance;
INSERT INTO maintenance_versions
    (window, version, recorded_at_ms, recorded_by, deleted, emergency, scope_kind, scope, kind,
     start_ms, end_ms, weekday, at_local, length_s, tz, note)
SELECT id, 1, 0, 'before versions', 0, 0, scope_kind, scope, kind,
       start_ms, end_ms, weekday, at_local, length_s, tz, note
FROM maintenance;

DROP TABLE maintenance;
