-- Delivery and installation: crews at depots, booked visits and the plan of each depot-day.

CREATE TABLE crews (
    id INTEGER PRIMARY KEY,
    depot TEXT NOT NULL REFERENCES sites(id),
    name TEXT NOT NULL,
    -- Sorted skill names, comma-separated; the week as `mon=08:00-18:00;...;sun=`; dates off
    -- comma-separated (rendan_store::rows reads and writes these).
    skills TEXT NOT NULL,
    truck_kg REAL NOT NULL CHECK (truck_kg > 0),
    truck_m3 REAL NOT NULL CHECK (truck_m3 > 0),
    week TEXT NOT NULL,
    days_off TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (depot, name)
);

-- One row per depot-day that has a plan: its status, and a version that every change of its
-- plan increments (an optimisation computed on an older version is refused).
CREATE TABLE depot_days (
    depot TEXT NOT NULL REFERENCES sites(id),
    day TEXT NOT NULL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (depot, day)
) WITHOUT ROWID;

-- A booked visit, and its place in the day's plan: the crew that serves it and its position
-- in that crew's route.
CREATE TABLE appointments (
    order_id INTEGER PRIMARY KEY REFERENCES orders(id),
    depot TEXT NOT NULL,
    day TEXT NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    crew INTEGER NOT NULL REFERENCES crews(id),
    position INTEGER NOT NULL,
    booked_at INTEGER NOT NULL,
    FOREIGN KEY (depot, day) REFERENCES depot_days(depot, day)
);
CREATE INDEX appointments_by_day ON appointments(depot, day, crew, position);
