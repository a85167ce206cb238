//! [`Tx`] on a writer connection of this process.
//!
//! Several processes (and two writers in each) write at once, so reads that a decision rests
//! on lock what they read when asked to ([`Read::Lock`], [`Tx::lock_queues`]), always in key
//! order. A batch goes to the server as one statement whatever its size: each column travels
//! as one array parameter that `unnest` turns back into rows.

use crate::error::Fail as DbFail;
use crate::reads;
use crate::rows::{corrupt, get, micros};
use crate::topology;
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use rendan_domain::access::{PrincipalName, Role};
use rendan_domain::catalogue::{Category, Sku};
use rendan_domain::fulfilment::Queue;
use rendan_domain::order::{Fulfilment, Order, OrderStatus};
use rendan_domain::production::{ProductionOrder, ProductionStatus};
use rendan_domain::schedule::Booked;
use rendan_domain::stock::Balance;
use rendan_domain::topology::Topology;
use rendan_domain::{Region, SiteId};
use rendan_store::rows::{date, promise_cause};
use rendan_store::tx::{
    CapacityRow, Fail, Found, LineRow, MovementRow, OrderLookup, OrderRow, ProductionRow,
    PromiseRow, Read, Remembered, Tx,
};
use rendan_store::{Idem, NewTokenRecord, StoreError, TokenInfo};
use sqlx::PgConnection;
use std::collections::HashMap;

/// A writer's connection inside its group transaction.
pub(crate) struct PgTx<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> PgTx<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        Self { conn }
    }
}

fn db(e: sqlx::Error) -> Fail {
    DbFail::from(e).into()
}

fn strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    items.into_iter().map(str::to_string).collect()
}

fn units(v: i64) -> Result<u32, Fail> {
    u32::try_from(v).map_err(|_| StoreError::Backend(format!("bad units {v}")).into())
}

#[async_trait]
impl Tx for PgTx<'_> {
    fn serial(&self) -> bool {
        false
    }

    async fn find_orders(&mut self, lookups: &[OrderLookup]) -> Result<Vec<Option<Found>>, Fail> {
        let principals: Vec<i64> = lookups.iter().map(|l| l.principal).collect();
        let keys = strings(lookups.iter().map(|l| l.key.as_str()));
        let channels = strings(lookups.iter().map(|l| l.channel.as_str()));
        let refs = strings(lookups.iter().map(|l| l.external_ref.as_str()));
        // One statement, so one snapshot: with two, a concurrent first request with a key
        // could commit between them and a retry would see its reference but not its key.
        let found = sqlx::query(
            "SELECT q.ord, o.id, o.request_hash, true AS same_key \
             FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS q(principal, key, ord) \
             JOIN orders o ON o.principal_id = q.principal AND o.idempotency_key = q.key \
             UNION ALL \
             SELECT q.ord, o.id, o.request_hash, false AS same_key \
             FROM unnest($1::bigint[], $3::text[], $4::text[]) WITH ORDINALITY AS q(principal, channel, ref, ord) \
             JOIN orders o ON o.principal_id = q.principal AND o.channel = q.channel AND o.external_ref = q.ref \
             ORDER BY 1, 4 DESC, 2",
        )
        .bind(&principals)
        .bind(&keys)
        .bind(&channels)
        .bind(&refs)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        let mut out: Vec<Option<Found>> = vec![None; lookups.len()];
        for row in &found {
            let ord: i64 = get(row, "ord")?;
            let slot = usize::try_from(ord - 1)
                .ok()
                .and_then(|i| out.get_mut(i))
                .ok_or_else(|| StoreError::Backend("bad lookup index".into()))?;
            if slot.is_none() {
                *slot = Some(Found {
                    id: get(row, "id")?,
                    request_hash: get(row, "request_hash")?,
                    same_key: get(row, "same_key")?,
                });
            }
        }
        Ok(out)
    }

    async fn orders(&mut self, ids: &[i64]) -> Result<Vec<Order>, Fail> {
        Ok(reads::orders_by_id(self.conn, ids).await?)
    }

    async fn insert_orders(&mut self, rows: &[OrderRow]) -> Result<Vec<i64>, Fail> {
        let principal: Vec<i64> = rows.iter().map(|o| o.principal).collect();
        let token: Vec<i64> = rows.iter().map(|o| o.token_id).collect();
        let key = strings(rows.iter().map(|o| o.key.as_str()));
        let hash: Vec<Vec<u8>> = rows.iter().map(|o| o.request_hash.clone()).collect();
        let status = strings(rows.iter().map(|o| o.status.as_str()));
        let channel = strings(rows.iter().map(|o| o.channel.as_str()));
        let reference = strings(rows.iter().map(|o| o.external_ref.as_str()));
        let name = strings(rows.iter().map(|o| o.customer.name.as_str()));
        let phone = strings(rows.iter().map(|o| o.customer.phone.as_str()));
        let address = strings(rows.iter().map(|o| o.customer.address.as_str()));
        let lat: Vec<f64> = rows.iter().map(|o| o.customer.location.lat()).collect();
        let lon: Vec<f64> = rows.iter().map(|o| o.customer.location.lon()).collect();
        let region = strings(rows.iter().map(|o| o.region.as_str()));
        let at: Vec<i64> = rows.iter().map(|o| micros(o.now)).collect();
        let promised: Vec<String> = rows.iter().map(|o| o.promised.to_string()).collect();
        let accepted: Vec<String> = rows.iter().map(|o| o.accepted_on.to_string()).collect();
        let inserted = sqlx::query(
            "INSERT INTO orders (principal_id, token_id, idempotency_key, request_hash, status, channel, \
             external_ref, customer_name, customer_phone, customer_address, lat, lon, region, created_at, \
             updated_at, promised_date, accepted_on) \
             SELECT p, t, k, h, st, ch, r, n, ph, a, la, lo, rg, c, c, pr, ac FROM unnest($1::bigint[], \
             $2::bigint[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
             $10::text[], $11::float8[], $12::float8[], $13::text[], $14::bigint[], $15::text[], $16::text[]) \
             WITH ORDINALITY AS u(p, t, k, h, st, ch, r, n, ph, a, la, lo, rg, c, pr, ac, ord) ORDER BY ord \
             RETURNING id, principal_id, idempotency_key",
        )
        .bind(&principal)
        .bind(&token)
        .bind(&key)
        .bind(&hash)
        .bind(&status)
        .bind(&channel)
        .bind(&reference)
        .bind(&name)
        .bind(&phone)
        .bind(&address)
        .bind(&lat)
        .bind(&lon)
        .bind(&region)
        .bind(&at)
        .bind(&promised)
        .bind(&accepted)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        // (principal, key) is unique: it names each row whatever order RETURNING uses.
        let mut ids: HashMap<(i64, String), i64> = HashMap::with_capacity(inserted.len());
        for r in &inserted {
            ids.insert(
                (get(r, "principal_id")?, get(r, "idempotency_key")?),
                get(r, "id")?,
            );
        }
        rows.iter()
            .map(|o| {
                ids.get(&(o.principal, o.key.clone()))
                    .copied()
                    .ok_or_else(|| StoreError::Backend("an inserted order has no id".into()).into())
            })
            .collect()
    }

    async fn insert_lines(&mut self, lines: &[LineRow]) -> Result<(), Fail> {
        let order: Vec<i64> = lines.iter().map(|l| l.order_id).collect();
        let line_no: Vec<i64> = lines.iter().map(|l| l.line_no as i64).collect();
        let sku = strings(lines.iter().map(|l| l.sku.as_str()));
        let qty: Vec<i64> = lines.iter().map(|l| i64::from(l.qty)).collect();
        let mut kind = Vec::with_capacity(lines.len());
        let mut site: Vec<Option<String>> = Vec::with_capacity(lines.len());
        let mut po: Vec<Option<i64>> = Vec::with_capacity(lines.len());
        let mut factory: Vec<Option<String>> = Vec::with_capacity(lines.len());
        for l in lines {
            match &l.fulfilment {
                Fulfilment::Stock { site: s } => {
                    kind.push("stock".to_string());
                    site.push(Some(s.as_str().to_string()));
                    po.push(None);
                    factory.push(None);
                }
                Fulfilment::Production {
                    production_order,
                    factory: f,
                } => {
                    kind.push("production".to_string());
                    site.push(None);
                    po.push(Some(*production_order));
                    factory.push(Some(f.as_str().to_string()));
                }
            }
        }
        sqlx::query(
            "INSERT INTO order_lines (order_id, line_no, sku, qty, kind, site, production_order, factory) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], \
             $6::text[], $7::bigint[], $8::text[])",
        )
        .bind(&order)
        .bind(&line_no)
        .bind(&sku)
        .bind(&qty)
        .bind(&kind)
        .bind(&site)
        .bind(&po)
        .bind(&factory)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn set_order_status(
        &mut self,
        id: i64,
        status: OrderStatus,
        now: Timestamp,
    ) -> Result<(), Fail> {
        sqlx::query("UPDATE orders SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(micros(now))
            .bind(id)
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn record_promises(&mut self, promises: &[PromiseRow]) -> Result<(), Fail> {
        let order: Vec<i64> = promises.iter().map(|p| p.order_id).collect();
        let day: Vec<String> = promises.iter().map(|p| p.date.to_string()).collect();
        let at: Vec<i64> = promises.iter().map(|p| micros(p.at)).collect();
        let reason = strings(promises.iter().map(|p| p.reason.as_str()));
        let cause: Vec<Option<i64>> = promises.iter().map(|p| promise_cause(&p.reason)).collect();
        sqlx::query(
            "INSERT INTO order_promises (order_id, promised_date, at, reason, cause) \
             SELECT o, d, a, r, c FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[]) \
             WITH ORDINALITY AS u(o, d, a, r, c, ord) ORDER BY ord",
        )
        .bind(&order)
        .bind(&day)
        .bind(&at)
        .bind(&reason)
        .bind(&cause)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn change_promises(&mut self, promises: &[PromiseRow]) -> Result<(), Fail> {
        let order: Vec<i64> = promises.iter().map(|p| p.order_id).collect();
        let day: Vec<String> = promises.iter().map(|p| p.date.to_string()).collect();
        let at: Vec<i64> = promises.iter().map(|p| micros(p.at)).collect();
        sqlx::query(
            "UPDATE orders o SET promised_date = u.d, updated_at = u.a \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(id, d, a) WHERE o.id = u.id",
        )
        .bind(&order)
        .bind(&day)
        .bind(&at)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        self.record_promises(promises).await
    }

    async fn balances(
        &mut self,
        keys: &[(SiteId, Sku)],
        read: Read,
    ) -> Result<Vec<((SiteId, Sku), Balance)>, Fail> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        if read == Read::LockOrCreate {
            let sites = strings(keys.iter().map(|(s, _)| s.as_str()));
            let skus = strings(keys.iter().map(|(_, k)| k.as_str()));
            sqlx::query(
                "INSERT INTO stock_balances (site, sku, on_hand, reserved) \
                 SELECT site, sku, 0, 0 FROM unnest($1::text[], $2::text[]) AS k(site, sku) \
                 ORDER BY site, sku ON CONFLICT (site, sku) DO NOTHING",
            )
            .bind(&sites)
            .bind(&skus)
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        }
        Ok(reads::balances(self.conn, keys, read != Read::Peek).await?)
    }

    async fn write_stock(
        &mut self,
        balances: &[((SiteId, Sku), Balance)],
        movements: &[MovementRow],
    ) -> Result<Vec<i64>, Fail> {
        let b_site = strings(balances.iter().map(|((s, _), _)| s.as_str()));
        let b_sku = strings(balances.iter().map(|((_, k), _)| k.as_str()));
        let on_hand: Vec<i64> = balances.iter().map(|(_, b)| b.on_hand).collect();
        let reserved: Vec<i64> = balances.iter().map(|(_, b)| b.reserved).collect();
        let site = strings(movements.iter().map(|m| m.site.as_str()));
        let sku = strings(movements.iter().map(|m| m.sku.as_str()));
        let kind = strings(movements.iter().map(|m| m.kind.as_str()));
        let qty: Vec<i64> = movements.iter().map(|m| m.qty).collect();
        let order: Vec<Option<i64>> = movements.iter().map(|m| m.order).collect();
        let document = strings(movements.iter().map(|m| m.document.as_str()));
        let at: Vec<i64> = movements.iter().map(|m| micros(m.at)).collect();
        // One statement for both: the balance rows are locked, so every round trip saved here
        // is time the other writers of those rows spend waiting.
        let inserted = sqlx::query(
            "WITH b AS (UPDATE stock_balances s SET on_hand = u.on_hand, reserved = u.reserved \
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u(site, sku, on_hand, reserved) \
             WHERE s.site = u.site AND s.sku = u.sku) \
             INSERT INTO stock_movements (site, sku, kind, qty, order_id, document, at) \
             SELECT site, sku, kind, qty, order_id, document, at FROM unnest($5::text[], $6::text[], \
             $7::text[], $8::bigint[], $9::bigint[], $10::text[], $11::bigint[]) \
             WITH ORDINALITY AS m(site, sku, kind, qty, order_id, document, at, ord) ORDER BY ord \
             RETURNING id",
        )
        .bind(&b_site)
        .bind(&b_sku)
        .bind(&on_hand)
        .bind(&reserved)
        .bind(&site)
        .bind(&sku)
        .bind(&kind)
        .bind(&qty)
        .bind(&order)
        .bind(&document)
        .bind(&at)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        // Identities are drawn row by row in insertion order.
        let mut ids = inserted
            .iter()
            .map(|r| get::<i64>(r, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        Ok(ids)
    }

    async fn insert_production(&mut self, rows: &[ProductionRow]) -> Result<Vec<i64>, Fail> {
        let order: Vec<i64> = rows.iter().map(|p| p.order_id).collect();
        let line_no: Vec<i64> = rows.iter().map(|p| p.line_no as i64).collect();
        let sku = strings(rows.iter().map(|p| p.sku.as_str()));
        let qty: Vec<i64> = rows.iter().map(|p| i64::from(p.qty)).collect();
        let factory = strings(rows.iter().map(|p| p.factory.as_str()));
        let destination = strings(rows.iter().map(|p| p.destination.as_str()));
        let region = strings(rows.iter().map(|p| p.region.as_str()));
        let category = strings(rows.iter().map(|p| p.category.as_str()));
        let earliest: Vec<String> = rows.iter().map(|p| p.earliest.to_string()).collect();
        let ready: Vec<String> = rows.iter().map(|p| p.ready_date.to_string()).collect();
        let transfer: Vec<i64> = rows.iter().map(|p| i64::from(p.transfer_days)).collect();
        let at: Vec<i64> = rows.iter().map(|p| micros(p.now)).collect();
        let inserted = sqlx::query(
            "INSERT INTO production_orders (order_id, line_no, sku, qty, factory, destination, region, \
             status, category, earliest, ready_date, transfer_days, created_at) \
             SELECT o, l, s, q, f, d, r, 'open', c, e, rd, t, a FROM unnest($1::bigint[], $2::bigint[], \
             $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
             $10::text[], $11::bigint[], $12::bigint[]) \
             WITH ORDINALITY AS u(o, l, s, q, f, d, r, c, e, rd, t, a, ord) ORDER BY ord \
             RETURNING id, order_id, line_no",
        )
        .bind(&order)
        .bind(&line_no)
        .bind(&sku)
        .bind(&qty)
        .bind(&factory)
        .bind(&destination)
        .bind(&region)
        .bind(&category)
        .bind(&earliest)
        .bind(&ready)
        .bind(&transfer)
        .bind(&at)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        let mut ids: HashMap<(i64, i64), i64> = HashMap::with_capacity(inserted.len());
        for r in &inserted {
            ids.insert((get(r, "order_id")?, get(r, "line_no")?), get(r, "id")?);
        }
        rows.iter()
            .map(|p| {
                ids.get(&(p.order_id, p.line_no as i64))
                    .copied()
                    .ok_or_else(|| {
                        StoreError::Backend("an inserted production order has no id".into()).into()
                    })
            })
            .collect()
    }

    async fn production(&mut self, id: i64) -> Result<Option<ProductionOrder>, Fail> {
        Ok(reads::production(self.conn, id).await?)
    }

    async fn productions_of(&mut self, orders: &[i64]) -> Result<Vec<ProductionOrder>, Fail> {
        Ok(reads::productions_of(self.conn, orders).await?)
    }

    async fn close_production(
        &mut self,
        id: i64,
        status: ProductionStatus,
        now: Timestamp,
    ) -> Result<(), Fail> {
        sqlx::query(
            "WITH freed AS (DELETE FROM production_capacity WHERE production_order = $3) \
             UPDATE production_orders SET status = $1, closed_at = $2 WHERE id = $3",
        )
        .bind(status.as_str())
        .bind(micros(now))
        .bind(id)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn lock_queues(&mut self, queues: &[Queue]) -> Result<(), Fail> {
        if queues.is_empty() {
            return Ok(());
        }
        let mut sorted = queues.to_vec();
        sorted.sort();
        sorted.dedup();
        let factory = strings(sorted.iter().map(|(f, _)| f.as_str()));
        let category = strings(sorted.iter().map(|(_, c)| c.as_str()));
        let lock = "SELECT q.factory FROM production_queues q \
             JOIN unnest($1::text[], $2::text[]) AS k(factory, category) \
             ON k.factory = q.factory AND k.category = q.category \
             ORDER BY q.factory, q.category FOR UPDATE OF q";
        let locked = sqlx::query(lock)
            .bind(&factory)
            .bind(&category)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(db)?;
        if locked.len() == sorted.len() {
            return Ok(());
        }
        // A queue's first use: create its row, in a statement of its own so that the lock
        // below sees it (a row inserted by a concurrent first user is waited for here).
        sqlx::query(
            "INSERT INTO production_queues (factory, category) \
             SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(&factory)
        .bind(&category)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        sqlx::query(lock)
            .bind(&factory)
            .bind(&category)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn booked(&mut self, queues: &[(Queue, Date)]) -> Result<Booked, Fail> {
        let factory = strings(queues.iter().map(|((f, _), _)| f.as_str()));
        let category = strings(queues.iter().map(|((_, c), _)| c.as_str()));
        let from: Vec<String> = queues.iter().map(|(_, d)| d.to_string()).collect();
        let found = sqlx::query(
            "SELECT l.factory, l.category, l.day, l.units \
             FROM unnest($1::text[], $2::text[], $3::text[]) AS q(factory, category, from_day) \
             JOIN production_load l ON l.factory = q.factory AND l.category = q.category \
             AND l.day >= q.from_day WHERE l.units > 0",
        )
        .bind(&factory)
        .bind(&category)
        .bind(&from)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        let mut booked = Booked::new();
        for r in &found {
            let factory: String = get(r, "factory")?;
            let category: String = get(r, "category")?;
            let day: String = get(r, "day")?;
            booked.insert(
                (
                    SiteId::parse(&factory, "factory").map_err(corrupt)?,
                    Category::parse(&category, "category").map_err(corrupt)?,
                    date(&day)?,
                ),
                units(get(r, "units")?)?,
            );
        }
        Ok(booked)
    }

    async fn queue(&mut self, queue: &Queue) -> Result<Vec<ProductionOrder>, Fail> {
        Ok(reads::queue(self.conn, &queue.0, queue.1).await?)
    }

    async fn set_capacity(&mut self, replace: &[i64], rows: &[CapacityRow]) -> Result<(), Fail> {
        // Two statements: the sub-statements of one do not see each other's changes, so an
        // insert there would collide with the very rows its DELETE removes.
        if !replace.is_empty() {
            sqlx::query("DELETE FROM production_capacity WHERE production_order = ANY($1)")
                .bind(replace)
                .execute(&mut *self.conn)
                .await
                .map_err(db)?;
        }
        if rows.is_empty() {
            return Ok(());
        }
        let po: Vec<i64> = rows.iter().map(|c| c.production_order).collect();
        let factory = strings(rows.iter().map(|c| c.factory.as_str()));
        let category = strings(rows.iter().map(|c| c.category.as_str()));
        let day: Vec<String> = rows.iter().map(|c| c.day.to_string()).collect();
        let taken: Vec<i64> = rows.iter().map(|c| i64::from(c.units)).collect();
        sqlx::query(
            "INSERT INTO production_capacity (production_order, factory, category, day, units) \
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[])",
        )
        .bind(&po)
        .bind(&factory)
        .bind(&category)
        .bind(&day)
        .bind(&taken)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn set_schedule(&mut self, dates: &[(i64, Date, Date)]) -> Result<(), Fail> {
        let id: Vec<i64> = dates.iter().map(|(id, _, _)| *id).collect();
        let earliest: Vec<String> = dates.iter().map(|(_, e, _)| e.to_string()).collect();
        let ready: Vec<String> = dates.iter().map(|(_, _, r)| r.to_string()).collect();
        sqlx::query(
            "UPDATE production_orders p SET earliest = u.e, ready_date = u.r \
             FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, e, r) WHERE p.id = u.id",
        )
        .bind(&id)
        .bind(&earliest)
        .bind(&ready)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn recall(
        &mut self,
        operation: &str,
        idem: &Idem,
    ) -> Result<Option<(Vec<u8>, Remembered)>, Fail> {
        let row = sqlx::query(
            "SELECT request_hash, ref_id, on_hand, reserved FROM idempotency \
             WHERE principal_id = $1 AND operation = $2 AND key = $3",
        )
        .bind(idem.principal)
        .bind(operation)
        .bind(&idem.key)
        .fetch_optional(&mut *self.conn)
        .await
        .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some((
            get(&row, "request_hash")?,
            Remembered {
                ref_id: get(&row, "ref_id")?,
                on_hand: get(&row, "on_hand")?,
                reserved: get(&row, "reserved")?,
            },
        )))
    }

    async fn remember(
        &mut self,
        operation: &str,
        idem: &Idem,
        what: &Remembered,
        now: Timestamp,
    ) -> Result<(), Fail> {
        sqlx::query(
            "INSERT INTO idempotency (principal_id, operation, key, request_hash, ref_id, on_hand, reserved, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(idem.principal)
        .bind(operation)
        .bind(&idem.key)
        .bind(&idem.fingerprint)
        .bind(what.ref_id)
        .bind(what.on_hand)
        .bind(what.reserved)
        .bind(micros(now))
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn principal_named(&mut self, name: &PrincipalName) -> Result<Option<(i64, Role)>, Fail> {
        let row = sqlx::query("SELECT id, role, region FROM principals WHERE name = $1")
            .bind(name.as_str())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let role: String = get(&row, "role")?;
        let region: Option<String> = get(&row, "region")?;
        let role = Role::parse(&role, region.as_deref()).map_err(corrupt)?;
        Ok(Some((get(&row, "id")?, role)))
    }

    async fn insert_principal(
        &mut self,
        name: &PrincipalName,
        role: &Role,
        now: Timestamp,
    ) -> Result<i64, Fail> {
        let row = sqlx::query(
            "INSERT INTO principals (name, role, region, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(name.as_str())
        .bind(role.name())
        .bind(role.region().map(Region::as_str))
        .bind(micros(now))
        .fetch_one(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(get(&row, "id")?)
    }

    async fn insert_token(&mut self, token: &NewTokenRecord, principal: i64) -> Result<i64, Fail> {
        let row = sqlx::query(
            "INSERT INTO tokens (hash, role, region, label, created_at, principal_id) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&token.hash)
        .bind(token.role.name())
        .bind(token.role.region().map(Region::as_str))
        .bind(&token.label)
        .bind(micros(token.now))
        .bind(principal)
        .fetch_one(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(get(&row, "id")?)
    }

    async fn token(&mut self, id: i64) -> Result<Option<TokenInfo>, Fail> {
        Ok(reads::token(self.conn, id).await?)
    }

    async fn revoke_token(&mut self, id: i64, now: Timestamp) -> Result<(), Fail> {
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(micros(now))
            .bind(id)
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn save_topology(&mut self, t: &Topology) -> Result<(), Fail> {
        Ok(topology::save(self.conn, t).await?)
    }
}
