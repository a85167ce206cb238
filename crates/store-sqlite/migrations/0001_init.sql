-- rendan's schema on SQLite. Business rules live in Rust (rendan-domain); the CHECKs below are
-- a last line of defence for invariants, never the place where a rule is decided.

CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    region TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    availability_target REAL NOT NULL,
    agent TEXT,
    main INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    node TEXT NOT NULL REFERENCES nodes(id),
    region TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    radius_km REAL NOT NULL
);

CREATE TABLE products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    volume_m3 REAL NOT NULL,
    weight_kg REAL NOT NULL,
    install_minutes INTEGER NOT NULL,
    skill TEXT
);

CREATE TABLE product_makers (
    sku TEXT NOT NULL REFERENCES products(sku),
    factory TEXT NOT NULL REFERENCES sites(id),
    lead_days INTEGER NOT NULL,
    PRIMARY KEY (sku, factory)
) WITHOUT ROWID;

CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    hash BLOB NOT NULL UNIQUE,
    role TEXT NOT NULL,
    region TEXT,
    label TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    token_id INTEGER NOT NULL REFERENCES tokens(id),
    idempotency_key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    external_ref TEXT NOT NULL,
    customer_name TEXT NOT NULL,
    customer_phone TEXT NOT NULL,
    customer_address TEXT NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    region TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    promised_date TEXT NOT NULL,
    UNIQUE (token_id, idempotency_key)
);
CREATE INDEX orders_by_region ON orders(region, id);
CREATE INDEX orders_by_status ON orders(status, id);
CREATE INDEX orders_by_token ON orders(token_id, id);
CREATE INDEX orders_by_created ON orders(created_at);

CREATE TABLE production_orders (
    id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL REFERENCES products(sku),
    qty INTEGER NOT NULL CHECK (qty > 0),
    factory TEXT NOT NULL REFERENCES sites(id),
    destination TEXT NOT NULL REFERENCES sites(id),
    region TEXT NOT NULL,
    status TEXT NOT NULL,
    ready_date TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    closed_at INTEGER
);
CREATE INDEX production_by_order ON production_orders(order_id);
CREATE INDEX production_by_status ON production_orders(status, id);

CREATE TABLE order_lines (
    order_id INTEGER NOT NULL REFERENCES orders(id),
    line_no INTEGER NOT NULL,
    sku TEXT NOT NULL REFERENCES products(sku),
    qty INTEGER NOT NULL CHECK (qty > 0),
    kind TEXT NOT NULL,
    site TEXT REFERENCES sites(id),
    production_order INTEGER REFERENCES production_orders(id),
    factory TEXT REFERENCES sites(id),
    PRIMARY KEY (order_id, line_no)
) WITHOUT ROWID;

CREATE TABLE stock_balances (
    site TEXT NOT NULL REFERENCES sites(id),
    sku TEXT NOT NULL REFERENCES products(sku),
    on_hand INTEGER NOT NULL,
    reserved INTEGER NOT NULL,
    CHECK (reserved >= 0 AND reserved <= on_hand),
    PRIMARY KEY (site, sku)
) WITHOUT ROWID;

-- Append-only: rows are inserted in the same transaction as the balance they change.
CREATE TABLE stock_movements (
    id INTEGER PRIMARY KEY,
    site TEXT NOT NULL REFERENCES sites(id),
    sku TEXT NOT NULL REFERENCES products(sku),
    kind TEXT NOT NULL,
    qty INTEGER NOT NULL,
    order_id INTEGER REFERENCES orders(id),
    document TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX movements_by_order ON stock_movements(order_id);

CREATE TRIGGER stock_movements_append_only_update BEFORE UPDATE ON stock_movements
BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END;
CREATE TRIGGER stock_movements_append_only_delete BEFORE DELETE ON stock_movements
BEGIN SELECT RAISE(ABORT, 'stock_movements is append-only'); END;
