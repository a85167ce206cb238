-- Promises from a schedule: production orders queue on each factory's daily capacity per
-- product category, and every order keeps the history of its promises.

ALTER TABLE production_orders ADD COLUMN category TEXT NOT NULL DEFAULT '';
UPDATE production_orders SET category = (SELECT p.category FROM products p WHERE p.sku = production_orders.sku);
-- Orders made before capacities were planned: their lead time alone set the ready date.
ALTER TABLE production_orders ADD COLUMN earliest TEXT NOT NULL DEFAULT '';
UPDATE production_orders SET earliest = ready_date;
ALTER TABLE production_orders ADD COLUMN transfer_days INTEGER NOT NULL DEFAULT 0;
CREATE INDEX production_by_queue ON production_orders(factory, category, status, id);

-- The capacity each open production order takes, per factory-local day. Rows exist only
-- while their production order is open.
CREATE TABLE production_capacity (
    production_order INTEGER NOT NULL REFERENCES production_orders(id),
    factory TEXT NOT NULL,
    category TEXT NOT NULL,
    day TEXT NOT NULL,
    units INTEGER NOT NULL CHECK (units > 0),
    PRIMARY KEY (production_order, day)
) WITHOUT ROWID;
CREATE INDEX capacity_by_day ON production_capacity(factory, category, day);

-- Units booked per factory, category and day: the sum of production_capacity, kept by the
-- triggers below, so that planning reads one row per day however long the queue is.
CREATE TABLE production_load (
    factory TEXT NOT NULL,
    category TEXT NOT NULL,
    day TEXT NOT NULL,
    units INTEGER NOT NULL CHECK (units >= 0),
    PRIMARY KEY (factory, category, day)
) WITHOUT ROWID;
CREATE TRIGGER production_capacity_load_in AFTER INSERT ON production_capacity
BEGIN
    INSERT INTO production_load (factory, category, day, units)
        VALUES (NEW.factory, NEW.category, NEW.day, NEW.units)
        ON CONFLICT (factory, category, day) DO UPDATE SET units = units + excluded.units;
END;
CREATE TRIGGER production_capacity_load_out AFTER DELETE ON production_capacity
BEGIN
    UPDATE production_load SET units = units - OLD.units
        WHERE factory = OLD.factory AND category = OLD.category AND day = OLD.day;
END;

ALTER TABLE orders ADD COLUMN accepted_on TEXT NOT NULL DEFAULT '';
-- How the crew reaches the place of installation (0/1 flags on both backends).
ALTER TABLE orders ADD COLUMN floor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN lift INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN haul_away INTEGER NOT NULL DEFAULT 0;
UPDATE orders SET accepted_on = date(created_at / 1000000, 'unixepoch');

-- Append-only, like the stock journal.
CREATE TABLE order_promises (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    promised_date TEXT NOT NULL,
    at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    cause INTEGER REFERENCES production_orders(id)
);
CREATE INDEX promises_by_order ON order_promises(order_id, id);
INSERT INTO order_promises (order_id, promised_date, at, reason)
    SELECT id, promised_date, created_at, 'accepted' FROM orders ORDER BY id;

CREATE TRIGGER order_promises_append_only_update BEFORE UPDATE ON order_promises
BEGIN SELECT RAISE(ABORT, 'order_promises is append-only'); END;
CREATE TRIGGER order_promises_append_only_delete BEFORE DELETE ON order_promises
BEGIN SELECT RAISE(ABORT, 'order_promises is append-only'); END;
