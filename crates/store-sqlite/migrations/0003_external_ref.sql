-- A channel's reference names one order: the writer looks an incoming reference up here
-- before placing (the single writer makes the look-up race-free). Not UNIQUE, so that a
-- database that already holds duplicates from before this rule still migrates.
CREATE INDEX orders_by_reference ON orders(principal_id, channel, external_ref);
