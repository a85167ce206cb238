//! [`Tx`] on the single writer's connection.
//!
//! Every statement is a hand-off to sqlx's SQLite worker thread, so a batch goes to SQLite as
//! one statement whatever its size: the rows travel as one JSON array parameter that
//! `json_each` unfolds (blobs as hex, which `unhex` turns back). The single writer makes every
//! read current, so nothing here locks.

use crate::reads;
use crate::rows::{corrupt, get, micros};
use crate::{backend, topology};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use rendan_domain::access::{PrincipalName, Role};
use rendan_domain::appointment::{Appointment, PlanStatus};
use rendan_domain::catalogue::{Category, Sku};
use rendan_domain::crew::{Crew, NewCrew, format_time};
use rendan_domain::fulfilment::Queue;
use rendan_domain::order::{Fulfilment, Order, OrderStatus};
use rendan_domain::production::{ProductionOrder, ProductionStatus};
use rendan_domain::schedule::Booked;
use rendan_domain::stock::Balance;
use rendan_domain::topology::Topology;
use rendan_domain::{Region, SiteId};
use rendan_store::rows::{date, promise_cause};
use rendan_store::tx::{
    CapacityRow, Fail, Found, LineRow, MovementRow, OrderLookup, OrderRow, Placement,
    ProductionRow, PromiseRow, Read, Remembered, Tx,
};
use rendan_store::{Idem, NewTokenRecord, StoreError, TokenInfo};
use serde_json::{Value, json};
use sqlx::SqliteConnection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The writer's connection inside its transaction.
pub(crate) struct SqliteTx<'c> {
    conn: &'c mut SqliteConnection,
    /// The store's "a webhook may exist" flag.
    hooks: Arc<AtomicBool>,
}

impl<'c> SqliteTx<'c> {
    pub(crate) fn new(conn: &'c mut SqliteConnection, hooks: Arc<AtomicBool>) -> Self {
        Self { conn, hooks }
    }
}

/// Rows as one JSON array of arrays, for `json_each`.
fn rows(items: impl IntoIterator<Item = Value>) -> String {
    Value::Array(items.into_iter().collect()).to_string()
}

fn db(e: sqlx::Error) -> Fail {
    Fail::Store(backend(e))
}

/// Ids that one multi-row INSERT returned, in the order of its rows: the single writer
/// assigns rowids in insertion order, and the rows were inserted in array order.
fn in_row_order(rows: Vec<sqlx::sqlite::SqliteRow>, expected: usize) -> Result<Vec<i64>, Fail> {
    let mut ids = rows
        .iter()
        .map(|r| get::<i64>(r, "id"))
        .collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    if ids.len() != expected {
        return Err(StoreError::Backend(format!(
            "inserted {expected} rows, got {} ids",
            ids.len()
        ))
        .into());
    }
    Ok(ids)
}

/// The statements [`Tx::write_placed`] and [`Tx::change_promises`] are made of.
impl SqliteTx<'_> {
    async fn insert_orders(&mut self, rows_in: &[OrderRow]) -> Result<(), Fail> {
        let input = rows(rows_in.iter().map(|o| {
            json!([
                o.id,
                o.principal,
                o.token_id,
                o.key,
                hex(&o.request_hash),
                o.status.as_str(),
                o.channel.as_str(),
                o.external_ref,
                o.customer.name,
                o.customer.phone,
                o.customer.address,
                o.customer.location.lat(),
                o.customer.location.lon(),
                o.region.as_str(),
                micros(o.now),
                o.promised.to_string(),
                o.accepted_on.to_string(),
                o.site_access.floor,
                i64::from(o.site_access.lift),
                i64::from(o.site_access.haul_away),
            ])
        }));
        sqlx::query(
            "INSERT INTO orders (id, principal_id, token_id, idempotency_key, request_hash, status, channel, \
             external_ref, customer_name, customer_phone, customer_address, lat, lon, region, created_at, \
             updated_at, promised_date, accepted_on, floor, lift, haul_away) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, unhex(value ->> 4), value ->> 5, \
             value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, \
             value ->> 13, value ->> 14, value ->> 14, value ->> 15, value ->> 16, value ->> 17, \
             value ->> 18, value ->> 19 FROM json_each(?)",
        )
        .bind(input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn insert_lines(&mut self, lines: &[LineRow]) -> Result<(), Fail> {
        let input = rows(lines.iter().map(|l| {
            let (kind, site, po, factory) = match &l.fulfilment {
                Fulfilment::Stock { site } => ("stock", Some(site.as_str()), None, None),
                Fulfilment::Production {
                    production_order,
                    factory,
                } => (
                    "production",
                    None,
                    Some(*production_order),
                    Some(factory.as_str()),
                ),
            };
            json!([
                l.order_id,
                l.line_no,
                l.sku.as_str(),
                l.qty,
                kind,
                site,
                po,
                factory
            ])
        }));
        sqlx::query(
            "INSERT INTO order_lines (order_id, line_no, sku, qty, kind, site, production_order, factory) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
             value ->> 6, value ->> 7 FROM json_each(?)",
        )
        .bind(input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn record_promises(&mut self, promises: &[PromiseRow]) -> Result<(), Fail> {
        let input = rows(promises.iter().map(|p| {
            json!([
                p.order_id,
                p.date.to_string(),
                micros(p.at),
                p.reason.as_str(),
                promise_cause(&p.reason)
            ])
        }));
        sqlx::query(
            "INSERT INTO order_promises (order_id, promised_date, at, reason, cause) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 \
             FROM json_each(?) ORDER BY key",
        )
        .bind(input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn insert_production(&mut self, rows_in: &[ProductionRow]) -> Result<(), Fail> {
        let input = rows(rows_in.iter().map(|p| {
            json!([
                p.id,
                p.order_id,
                p.line_no,
                p.sku.as_str(),
                p.qty,
                p.factory.as_str(),
                p.destination.as_str(),
                p.region.as_str(),
                p.category.as_str(),
                p.earliest.to_string(),
                p.ready_date.to_string(),
                p.transfer_days,
                micros(p.now),
            ])
        }));
        sqlx::query(
            "INSERT INTO production_orders (id, order_id, line_no, sku, qty, factory, destination, region, \
             status, category, earliest, ready_date, transfer_days, created_at) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
             value ->> 6, value ->> 7, 'open', value ->> 8, value ->> 9, value ->> 10, value ->> 11, \
             value ->> 12 FROM json_each(?)",
        )
        .bind(input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }
}

#[async_trait]
impl Tx for SqliteTx<'_> {
    fn serial(&self) -> bool {
        true
    }

    async fn find_orders(&mut self, lookups: &[OrderLookup]) -> Result<Vec<Option<Found>>, Fail> {
        let input = rows(
            lookups
                .iter()
                .map(|l| json!([l.principal, l.key, l.channel.as_str(), l.external_ref])),
        );
        // Two indexed lookups per entry; the key's match wins over the reference's.
        let found = sqlx::query(
            "SELECT j.key AS ord, o.id, o.request_hash, 1 AS same_key FROM json_each(?1) j \
             JOIN orders o ON o.principal_id = j.value ->> 0 AND o.idempotency_key = j.value ->> 1 \
             UNION ALL \
             SELECT j.key AS ord, o.id, o.request_hash, 0 AS same_key FROM json_each(?1) j \
             JOIN orders o ON o.principal_id = j.value ->> 0 AND o.channel = j.value ->> 2 \
             AND o.external_ref = j.value ->> 3 \
             ORDER BY 1, 4 DESC, 2",
        )
        .bind(input)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        let mut out: Vec<Option<Found>> = vec![None; lookups.len()];
        for row in &found {
            let ord = usize::try_from(get::<i64>(row, "ord")?)
                .map_err(|_| StoreError::Backend("bad lookup index".into()))?;
            if let Some(slot) = out.get_mut(ord)
                && slot.is_none()
            {
                *slot = Some(Found {
                    id: get(row, "id")?,
                    request_hash: get(row, "request_hash")?,
                    same_key: get::<i64>(row, "same_key")? == 1,
                });
            }
        }
        Ok(out)
    }

    async fn orders(&mut self, ids: &[i64]) -> Result<Vec<Order>, Fail> {
        Ok(reads::orders_by_id(self.conn, ids).await?)
    }

    async fn lock_orders(&mut self, _ids: &[i64]) -> Result<(), Fail> {
        // The single writer runs one transaction at a time: every row is as good as locked.
        Ok(())
    }

    async fn reserve_ids(
        &mut self,
        orders: usize,
        productions: usize,
    ) -> Result<(Vec<i64>, Vec<i64>), Fail> {
        // The single writer is the only one to insert, so the next ids are simply the next.
        let row = sqlx::query(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM orders) AS o, \
             (SELECT COALESCE(MAX(id), 0) FROM production_orders) AS p",
        )
        .fetch_one(&mut *self.conn)
        .await
        .map_err(db)?;
        let (o, p): (i64, i64) = (get(&row, "o")?, get(&row, "p")?);
        let upto = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        Ok((
            (o + 1..=o + upto(orders)).collect(),
            (p + 1..=p + upto(productions)).collect(),
        ))
    }

    async fn write_placed(&mut self, placement: &Placement) -> Result<(), Fail> {
        self.insert_orders(&placement.orders).await?;
        if !placement.productions.is_empty() {
            self.insert_production(&placement.productions).await?;
        }
        self.insert_lines(&placement.lines).await?;
        self.write_stock(&placement.balances, &placement.movements)
            .await?;
        if !placement.capacity.is_empty() {
            self.set_capacity(&[], &placement.capacity).await?;
        }
        self.record_promises(&placement.promises).await?;
        let changes: Vec<_> = placement
            .orders
            .iter()
            .map(|o| (o.id, o.status, o.now))
            .collect();
        self.enqueue_changes(&changes).await
    }

    async fn set_order_status(
        &mut self,
        id: i64,
        status: OrderStatus,
        now: Timestamp,
    ) -> Result<(), Fail> {
        sqlx::query("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(micros(now))
            .bind(id)
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn change_promises(&mut self, promises: &[PromiseRow]) -> Result<(), Fail> {
        let input = rows(
            promises
                .iter()
                .map(|p| json!([p.order_id, p.date.to_string(), micros(p.at)])),
        );
        sqlx::query(
            "UPDATE orders SET promised_date = j.value ->> 1, updated_at = j.value ->> 2 \
             FROM json_each(?) j WHERE orders.id = j.value ->> 0",
        )
        .bind(input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        self.record_promises(promises).await
    }

    async fn balances(
        &mut self,
        keys: &[(SiteId, Sku)],
        _read: Read,
    ) -> Result<Vec<((SiteId, Sku), Balance)>, Fail> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        // A missing row is an empty balance; `write_stock` creates it.
        let input = rows(keys.iter().map(|(s, k)| json!([s.as_str(), k.as_str()])));
        let found = sqlx::query(
            "SELECT b.site, b.sku, b.on_hand, b.reserved FROM json_each(?) j \
             JOIN stock_balances b ON b.site = j.value ->> 0 AND b.sku = j.value ->> 1",
        )
        .bind(input)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        found
            .iter()
            .map(|r| {
                let site: String = get(r, "site")?;
                let sku: String = get(r, "sku")?;
                Ok((
                    (
                        SiteId::parse(&site, "site").map_err(corrupt)?,
                        Sku::parse(&sku, "sku").map_err(corrupt)?,
                    ),
                    Balance {
                        on_hand: get(r, "on_hand")?,
                        reserved: get(r, "reserved")?,
                    },
                ))
            })
            .collect()
    }

    async fn write_stock(
        &mut self,
        balances: &[((SiteId, Sku), Balance)],
        movements: &[MovementRow],
    ) -> Result<Vec<i64>, Fail> {
        let input = rows(
            balances
                .iter()
                .map(|((s, k), b)| json!([s.as_str(), k.as_str(), b.on_hand, b.reserved])),
        );
        // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the upsert.
        sqlx::query(
            "INSERT INTO stock_balances (site, sku, on_hand, reserved) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?) WHERE true \
             ON CONFLICT (site, sku) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved",
        )
        .bind(input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        let input = rows(movements.iter().map(|m| {
            json!([
                m.site.as_str(),
                m.sku.as_str(),
                m.kind.as_str(),
                m.qty,
                m.order,
                m.document,
                micros(m.at)
            ])
        }));
        let ids = sqlx::query(
            "INSERT INTO stock_movements (site, sku, kind, qty, order_id, document, at) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6 \
             FROM json_each(?) ORDER BY key RETURNING id",
        )
        .bind(input)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        in_row_order(ids, movements.len())
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
        sqlx::query("UPDATE production_orders SET status = ?, closed_at = ? WHERE id = ?")
            .bind(status.as_str())
            .bind(micros(now))
            .bind(id)
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM production_capacity WHERE production_order = ?")
            .bind(id)
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn lock_queues(&mut self, _queues: &[Queue]) -> Result<(), Fail> {
        // The single writer is the lock.
        Ok(())
    }

    async fn booked(&mut self, queues: &[(Queue, Date)]) -> Result<Booked, Fail> {
        let input = rows(
            queues
                .iter()
                .map(|((f, c), from)| json!([f.as_str(), c.as_str(), from.to_string()])),
        );
        let found = sqlx::query(
            "SELECT l.factory, l.category, l.day, l.units FROM json_each(?) j \
             JOIN production_load l ON l.factory = j.value ->> 0 AND l.category = j.value ->> 1 \
             AND l.day >= j.value ->> 2 WHERE l.units > 0",
        )
        .bind(input)
        .fetch_all(&mut *self.conn)
        .await
        .map_err(db)?;
        let mut booked = Booked::new();
        for r in &found {
            let factory: String = get(r, "factory")?;
            let category: String = get(r, "category")?;
            let day: String = get(r, "day")?;
            let units: i64 = get(r, "units")?;
            booked.insert(
                (
                    SiteId::parse(&factory, "factory").map_err(corrupt)?,
                    Category::parse(&category, "category").map_err(corrupt)?,
                    date(&day)?,
                ),
                u32::try_from(units).map_err(|_| StoreError::Backend("bad units".into()))?,
            );
        }
        Ok(booked)
    }

    async fn queue(&mut self, queue: &Queue) -> Result<Vec<ProductionOrder>, Fail> {
        Ok(reads::queue(self.conn, &queue.0, queue.1).await?)
    }

    async fn set_capacity(&mut self, replace: &[i64], rows_in: &[CapacityRow]) -> Result<(), Fail> {
        if !replace.is_empty() {
            sqlx::query(
                "DELETE FROM production_capacity WHERE production_order IN (SELECT value FROM json_each(?))",
            )
            .bind(rows(replace.iter().map(|id| json!(id))))
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        }
        if rows_in.is_empty() {
            return Ok(());
        }
        let input = rows(rows_in.iter().map(|c| {
            json!([
                c.production_order,
                c.factory.as_str(),
                c.category.as_str(),
                c.day.to_string(),
                c.units
            ])
        }));
        sqlx::query(
            "INSERT INTO production_capacity (production_order, factory, category, day, units) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?)",
        )
        .bind(input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn set_schedule(&mut self, dates: &[(i64, Date, Date)]) -> Result<(), Fail> {
        let input = rows(
            dates
                .iter()
                .map(|(id, e, r)| json!([id, e.to_string(), r.to_string()])),
        );
        sqlx::query(
            "UPDATE production_orders SET earliest = j.value ->> 1, ready_date = j.value ->> 2 \
             FROM json_each(?) j WHERE production_orders.id = j.value ->> 0",
        )
        .bind(input)
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
             WHERE principal_id = ? AND operation = ? AND key = ?",
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        let row = sqlx::query("SELECT id, role, region, crew FROM principals WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let role: String = get(&row, "role")?;
        let region: Option<String> = get(&row, "region")?;
        let role = Role::parse(&role, region.as_deref(), get(&row, "crew")?).map_err(corrupt)?;
        Ok(Some((get(&row, "id")?, role)))
    }

    async fn insert_principal(
        &mut self,
        name: &PrincipalName,
        role: &Role,
        now: Timestamp,
    ) -> Result<i64, Fail> {
        let row = sqlx::query(
            "INSERT INTO principals (name, role, region, crew, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(name.as_str())
        .bind(role.name())
        .bind(role.region().map(Region::as_str))
        .bind(role.crew())
        .bind(micros(now))
        .fetch_one(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(get(&row, "id")?)
    }

    async fn insert_token(&mut self, token: &NewTokenRecord, principal: i64) -> Result<i64, Fail> {
        let row = sqlx::query(
            "INSERT INTO tokens (hash, role, region, label, created_at, principal_id) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
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
        sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
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

    async fn insert_crew(
        &mut self,
        depot: &SiteId,
        crew: &NewCrew,
        now: Timestamp,
    ) -> Result<i64, Fail> {
        let (skills, week, days_off) = rendan_store::rows::crew_columns(crew);
        let row = sqlx::query(
            "INSERT INTO crews (depot, name, skills, truck_kg, truck_m3, week, days_off, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(depot.as_str())
        .bind(&crew.name)
        .bind(skills)
        .bind(crew.truck.kg)
        .bind(crew.truck.m3)
        .bind(week)
        .bind(days_off)
        .bind(micros(now))
        .fetch_one(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(get(&row, "id")?)
    }

    async fn crew(&mut self, id: i64) -> Result<Option<Crew>, Fail> {
        Ok(reads::crew(self.conn, id).await?)
    }

    async fn crews_of(&mut self, depot: &SiteId) -> Result<Vec<Crew>, Fail> {
        Ok(reads::crews(self.conn, Some(depot)).await?)
    }

    async fn lock_day(&mut self, depot: &SiteId, date: Date) -> Result<(PlanStatus, i64), Fail> {
        // The single writer is the lock; the row is created so appointments can refer to it.
        sqlx::query(
            "INSERT INTO depot_days (depot, day, status, version) VALUES (?, ?, 'draft', 0) \
             ON CONFLICT (depot, day) DO NOTHING",
        )
        .bind(depot.as_str())
        .bind(date.to_string())
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(reads::day_head(self.conn, depot, date).await?)
    }

    async fn set_day(
        &mut self,
        depot: &SiteId,
        date: Date,
        status: PlanStatus,
        version: i64,
    ) -> Result<(), Fail> {
        sqlx::query("UPDATE depot_days SET status = ?, version = ? WHERE depot = ? AND day = ?")
            .bind(status.as_str())
            .bind(version)
            .bind(depot.as_str())
            .bind(date.to_string())
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn day_visits(
        &mut self,
        depot: &SiteId,
        date: Date,
    ) -> Result<Vec<(Appointment, usize)>, Fail> {
        Ok(reads::day_visits(self.conn, depot, date).await?)
    }

    async fn appointment_of(&mut self, order: i64) -> Result<Option<(Appointment, usize)>, Fail> {
        Ok(reads::appointment_of(self.conn, order).await?)
    }

    async fn write_visits(
        &mut self,
        depot: &SiteId,
        date: Date,
        visits: &[(Appointment, usize)],
        now: Timestamp,
    ) -> Result<(), Fail> {
        let input = rows(visits.iter().map(|(a, p)| {
            json!([
                a.order,
                format_time(a.window.start),
                format_time(a.window.end),
                a.crew,
                p
            ])
        }));
        // Rows of the day not in `visits` go; the others keep when they were booked.
        sqlx::query(
            "DELETE FROM appointments WHERE depot = ?1 AND day = ?2 \
             AND order_id NOT IN (SELECT value ->> 0 FROM json_each(?3))",
        )
        .bind(depot.as_str())
        .bind(date.to_string())
        .bind(&input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        sqlx::query(
            "INSERT INTO appointments (order_id, depot, day, window_start, window_end, crew, position, booked_at) \
             SELECT value ->> 0, ?1, ?2, value ->> 1, value ->> 2, value ->> 3, value ->> 4, ?3 \
             FROM json_each(?4) WHERE true ON CONFLICT (order_id) DO UPDATE SET crew = excluded.crew, \
             position = excluded.position, window_start = excluded.window_start, window_end = excluded.window_end",
        )
        .bind(depot.as_str())
        .bind(date.to_string())
        .bind(micros(now))
        .bind(&input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn replace_lines(
        &mut self,
        lines: &[LineRow],
        productions: &[ProductionRow],
    ) -> Result<(), Fail> {
        // Production orders first: a line may refer to one.
        self.insert_production(productions).await?;
        for l in lines {
            let (kind, site, po, factory) = match &l.fulfilment {
                Fulfilment::Stock { site } => ("stock", Some(site.as_str()), None, None),
                Fulfilment::Production {
                    production_order,
                    factory,
                } => (
                    "production",
                    None,
                    Some(*production_order),
                    Some(factory.as_str()),
                ),
            };
            sqlx::query(
                "UPDATE order_lines SET kind = ?, site = ?, production_order = ?, factory = ? \
                 WHERE order_id = ? AND line_no = ?",
            )
            .bind(kind)
            .bind(site)
            .bind(po)
            .bind(factory)
            .bind(l.order_id)
            .bind(l.line_no as i64)
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        }
        Ok(())
    }

    async fn enqueue_changes(
        &mut self,
        changes: &[(i64, OrderStatus, Timestamp)],
    ) -> Result<(), Fail> {
        if changes.is_empty() || !self.hooks.load(Ordering::Acquire) {
            return Ok(());
        }
        let input = rows(
            changes
                .iter()
                .map(|(o, s, at)| json!([o, s.as_str(), micros(*at)])),
        );
        // One row per webhook of the order's channel that follows the status, in the order of
        // the changes (the outbox id orders one order's deliveries).
        sqlx::query(
            "INSERT INTO webhook_outbox (webhook_id, order_id, status, at, attempts, next_at, state) \
             SELECT w.id, c.value ->> 0, c.value ->> 1, c.value ->> 2, 0, c.value ->> 2, 'pending' \
             FROM json_each(?1) c JOIN orders o ON o.id = c.value ->> 0 \
             JOIN webhooks w ON w.channel_id = o.principal_id \
             WHERE instr(',' || w.events || ',', ',' || (c.value ->> 1) || ',') > 0 \
             ORDER BY c.key, w.id",
        )
        .bind(&input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn insert_webhook(
        &mut self,
        channel: i64,
        hook: &rendan_domain::webhook::NewWebhook,
        now: Timestamp,
    ) -> Result<i64, Fail> {
        // Set before the insert commits: a status change in the same group then already
        // writes its outbox rows (were the insert rolled back, the flag only costs a statement).
        self.hooks.store(true, Ordering::Release);
        let row = sqlx::query(
            "INSERT INTO webhooks (channel_id, url, secret, events, created_at) \
             VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(channel)
        .bind(&hook.url)
        .bind(&hook.secret)
        .bind(rendan_store::rows::events_column(&hook.events))
        .bind(micros(now))
        .fetch_one(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(get(&row, "id")?)
    }

    async fn webhook(&mut self, id: i64) -> Result<Option<rendan_domain::webhook::Webhook>, Fail> {
        Ok(reads::webhooks(self.conn, None, Some(id)).await?.pop())
    }

    async fn record_attempt(&mut self, a: &rendan_store::DeliveryAttempt) -> Result<(), Fail> {
        let next_at = match a.after {
            rendan_store::AfterAttempt::RetryAt(t) => Some(micros(t)),
            _ => None,
        };
        sqlx::query(
            "INSERT INTO webhook_attempts (outbox_id, webhook_id, order_id, status, attempt, at, \
             status_code, error, outcome, next_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(a.delivery)
        .bind(a.webhook)
        .bind(a.order)
        .bind(a.status.as_str())
        .bind(i64::from(a.attempt))
        .bind(micros(a.at))
        .bind(a.status_code.map(i64::from))
        .bind(a.error.as_deref())
        .bind(a.after.as_str())
        .bind(next_at)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        let (state, done) = match a.after {
            rendan_store::AfterAttempt::Delivered => ("delivered", Some(micros(a.at))),
            rendan_store::AfterAttempt::GaveUp => ("given_up", Some(micros(a.at))),
            rendan_store::AfterAttempt::RetryAt(_) => ("pending", None),
        };
        sqlx::query(
            "UPDATE webhook_outbox SET attempts = max(attempts, ?), state = ?, \
             next_at = coalesce(?, next_at), done_at = ? WHERE id = ? AND state = 'pending'",
        )
        .bind(i64::from(a.attempt))
        .bind(state)
        .bind(next_at)
        .bind(done)
        .bind(a.delivery)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn insert_attempts(
        &mut self,
        attempts: &[rendan_domain::stop::Attempt],
        now: Timestamp,
    ) -> Result<(), Fail> {
        let input = rows(attempts.iter().map(|a| {
            json!([
                a.order,
                a.date.to_string(),
                a.depot.as_str(),
                a.crew,
                a.position,
                format_time(a.window.start),
                format_time(a.window.end),
                micros(a.dispatched_at),
                a.applied.outcome.as_str(),
                a.applied.outcome.reason().map(|r| r.as_str()),
                i64::from(a.applied.haul_away_received),
                a.unapplied
            ])
        }));
        sqlx::query(
            "INSERT INTO visit_attempts (order_id, day, depot, crew, position, window_start, \
             window_end, dispatched_at, outcome, reason, haul_away_received, unapplied, updated_at) \
             SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, \
             value ->> 6, value ->> 7, value ->> 8, value ->> 9, value ->> 10, value ->> 11, ?1 \
             FROM json_each(?2)",
        )
        .bind(micros(now))
        .bind(&input)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn attempts_of(&mut self, order: i64) -> Result<Vec<rendan_domain::stop::Attempt>, Fail> {
        Ok(reads::attempts_of(self.conn, order).await?)
    }

    async fn update_attempt(
        &mut self,
        a: &rendan_domain::stop::Attempt,
        now: Timestamp,
    ) -> Result<(), Fail> {
        sqlx::query(
            "UPDATE visit_attempts SET outcome = ?, reason = ?, haul_away_received = ?, \
             unapplied = ?, updated_at = ? WHERE order_id = ? AND day = ?",
        )
        .bind(a.applied.outcome.as_str())
        .bind(a.applied.outcome.reason().map(|r| r.as_str()))
        .bind(i64::from(a.applied.haul_away_received))
        .bind(a.unapplied.as_deref())
        .bind(micros(now))
        .bind(a.order)
        .bind(a.date.to_string())
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn stop_event_seen(
        &mut self,
        id: rendan_domain::stop::EventId,
    ) -> Result<Option<(i64, String)>, Fail> {
        let row = sqlx::query("SELECT order_id, fingerprint FROM stop_events WHERE event_id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn)
            .await
            .map_err(db)?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some((get(&row, "order_id")?, get(&row, "fingerprint")?))),
        }
    }

    async fn insert_stop_event(
        &mut self,
        r: &rendan_domain::stop::Reported,
        fingerprint: &str,
    ) -> Result<(), Fail> {
        let e = &r.event;
        let proof = e.proof.unwrap_or(rendan_domain::stop::Proof {
            photo_sha256: None,
            signature_sha256: None,
        });
        sqlx::query(
            "INSERT INTO stop_events (event_id, order_id, day, kind, at, lat, lon, reason, proof, \
             photo_sha256, signature_sha256, fingerprint, posted_by, received_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(e.id.to_string())
        .bind(r.order)
        .bind(r.date.to_string())
        .bind(e.kind.as_str())
        .bind(micros(e.at))
        .bind(e.location.lat())
        .bind(e.location.lon())
        .bind(e.reason.map(|r| r.as_str()))
        .bind(i64::from(e.proof.is_some()))
        .bind(proof.photo_sha256.map(|d| d.to_hex()))
        .bind(proof.signature_sha256.map(|d| d.to_hex()))
        .bind(fingerprint)
        .bind(r.posted_by)
        .bind(micros(r.received_at))
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn stop_events_of(
        &mut self,
        order: i64,
        date: Date,
    ) -> Result<Vec<rendan_domain::stop::Reported>, Fail> {
        Ok(reads::stop_events_of(self.conn, order, Some(date)).await?)
    }
}

/// Lower-case hex, for blobs inside JSON (SQLite's `unhex` reads it back).
fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
