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

ALTER TABLE orders ADD COLUMN accepted_on TEXT NOT NULL DEFAULT '';
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
