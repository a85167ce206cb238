-- Principals own tokens, orders and idempotency keys, so that a token can be rotated or
-- revoked without the channel losing its orders or its de-duplication.

CREATE TABLE principals (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    region TEXT,
    created_at INTEGER NOT NULL
);

-- Every existing token becomes a principal of its own, with the token's id, so that the
-- orders it created keep their owner.
INSERT INTO principals (id, name, role, region, created_at)
    SELECT id, 'token-' || id, role, region, created_at FROM tokens;

ALTER TABLE tokens ADD COLUMN principal_id INTEGER REFERENCES principals(id);
UPDATE tokens SET principal_id = id;
ALTER TABLE tokens ADD COLUMN revoked_at INTEGER;
CREATE INDEX tokens_by_principal ON tokens(principal_id);

-- token_id stays as the token an order came with; principal_id is its owner.
ALTER TABLE orders ADD COLUMN principal_id INTEGER REFERENCES principals(id);
UPDATE orders SET principal_id = token_id;
CREATE UNIQUE INDEX orders_by_principal_key ON orders(principal_id, idempotency_key);
CREATE INDEX orders_by_principal ON orders(principal_id, id);

-- What the first request with a key produced, for every mutating call but order intake
-- (orders carry their own key). ref_id names the movement, order, production order or token
-- it produced; receipts also keep the balance they answered.
CREATE TABLE idempotency (
    principal_id INTEGER NOT NULL REFERENCES principals(id),
    operation TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash BLOB NOT NULL,
    ref_id INTEGER NOT NULL,
    on_hand INTEGER,
    reserved INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (principal_id, operation, key)
) WITHOUT ROWID;
