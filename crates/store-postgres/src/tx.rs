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
    CapacityRow, Fail, Found, LineRow, MovementRow, OrderLookup, Placement, ProductionRow,
    PromiseRow, Read, Remembered, Tx,
};
use rendan_store::{Idem, NewTokenRecord, StoreError, TokenInfo};
use sqlx::PgConnection;

/// The parameters of one long statement, numbered as they are pushed.
#[derive(Default)]
struct Binds {
    args: sqlx::postgres::PgArguments,
    count: usize,
}

impl Binds {
    /// Adds a parameter; answers its number (`$n`).
    fn push<T>(&mut self, value: T) -> usize
    where
        T: for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
    {
        use sqlx::Arguments;
        // Encoding an owned array into the buffer does not fail.
        let _ = self.args.add(value);
        self.count += 1;
        self.count
    }

    async fn run(self, conn: &mut PgConnection, sql: &str) -> Result<(), Fail> {
        sqlx::query_with(sqlx::AssertSqlSafe(sql.to_string()), self.args)
            .execute(conn)
            .await
            .map_err(db)?;
        Ok(())
    }
}

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

    async fn lock_orders(&mut self, ids: &[i64]) -> Result<(), Fail> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query("SELECT id FROM orders WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(ids)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn reserve_ids(
        &mut self,
        orders: usize,
        productions: usize,
    ) -> Result<(Vec<i64>, Vec<i64>), Fail> {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let row = sqlx::query(
            "SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('orders', 'id')) \
             FROM generate_series(1, $1)) AS o, \
             ARRAY(SELECT nextval(pg_get_serial_sequence('production_orders', 'id')) \
             FROM generate_series(1, $2)) AS p",
        )
        .bind(count(orders))
        .bind(count(productions))
        .fetch_one(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok((get(&row, "o")?, get(&row, "p")?))
    }

    async fn write_placed(&mut self, placement: &Placement) -> Result<(), Fail> {
        let Placement {
            orders,
            productions,
            lines,
            balances,
            movements,
            capacity,
            promises,
        } = placement;
        let mut q = Binds::default();
        // Orders.
        let o_id = q.push(orders.iter().map(|o| o.id).collect::<Vec<i64>>());
        let o_principal = q.push(orders.iter().map(|o| o.principal).collect::<Vec<i64>>());
        let o_token = q.push(orders.iter().map(|o| o.token_id).collect::<Vec<i64>>());
        let o_key = q.push(strings(orders.iter().map(|o| o.key.as_str())));
        let o_hash = q.push(
            orders
                .iter()
                .map(|o| o.request_hash.clone())
                .collect::<Vec<Vec<u8>>>(),
        );
        let o_status = q.push(strings(orders.iter().map(|o| o.status.as_str())));
        let o_channel = q.push(strings(orders.iter().map(|o| o.channel.as_str())));
        let o_ref = q.push(strings(orders.iter().map(|o| o.external_ref.as_str())));
        let o_name = q.push(strings(orders.iter().map(|o| o.customer.name.as_str())));
        let o_phone = q.push(strings(orders.iter().map(|o| o.customer.phone.as_str())));
        let o_address = q.push(strings(orders.iter().map(|o| o.customer.address.as_str())));
        let o_lat = q.push(
            orders
                .iter()
                .map(|o| o.customer.location.lat())
                .collect::<Vec<f64>>(),
        );
        let o_lon = q.push(
            orders
                .iter()
                .map(|o| o.customer.location.lon())
                .collect::<Vec<f64>>(),
        );
        let o_region = q.push(strings(orders.iter().map(|o| o.region.as_str())));
        let o_at = q.push(orders.iter().map(|o| micros(o.now)).collect::<Vec<i64>>());
        let o_promised = q.push(
            orders
                .iter()
                .map(|o| o.promised.to_string())
                .collect::<Vec<String>>(),
        );
        let o_accepted = q.push(
            orders
                .iter()
                .map(|o| o.accepted_on.to_string())
                .collect::<Vec<String>>(),
        );
        let o_floor = q.push(
            orders
                .iter()
                .map(|o| i64::from(o.site_access.floor))
                .collect::<Vec<i64>>(),
        );
        let o_lift = q.push(
            orders
                .iter()
                .map(|o| i64::from(o.site_access.lift))
                .collect::<Vec<i64>>(),
        );
        let o_haul = q.push(
            orders
                .iter()
                .map(|o| i64::from(o.site_access.haul_away))
                .collect::<Vec<i64>>(),
        );
        // Production orders.
        let p_id = q.push(productions.iter().map(|p| p.id).collect::<Vec<i64>>());
        let p_order = q.push(productions.iter().map(|p| p.order_id).collect::<Vec<i64>>());
        let p_line = q.push(
            productions
                .iter()
                .map(|p| p.line_no as i64)
                .collect::<Vec<i64>>(),
        );
        let p_sku = q.push(strings(productions.iter().map(|p| p.sku.as_str())));
        let p_qty = q.push(
            productions
                .iter()
                .map(|p| i64::from(p.qty))
                .collect::<Vec<i64>>(),
        );
        let p_factory = q.push(strings(productions.iter().map(|p| p.factory.as_str())));
        let p_dest = q.push(strings(productions.iter().map(|p| p.destination.as_str())));
        let p_region = q.push(strings(productions.iter().map(|p| p.region.as_str())));
        let p_category = q.push(strings(productions.iter().map(|p| p.category.as_str())));
        let p_earliest = q.push(
            productions
                .iter()
                .map(|p| p.earliest.to_string())
                .collect::<Vec<String>>(),
        );
        let p_ready = q.push(
            productions
                .iter()
                .map(|p| p.ready_date.to_string())
                .collect::<Vec<String>>(),
        );
        let p_transfer = q.push(
            productions
                .iter()
                .map(|p| i64::from(p.transfer_days))
                .collect::<Vec<i64>>(),
        );
        let p_at = q.push(
            productions
                .iter()
                .map(|p| micros(p.now))
                .collect::<Vec<i64>>(),
        );
        // Lines.
        let l_order = q.push(lines.iter().map(|l| l.order_id).collect::<Vec<i64>>());
        let l_no = q.push(lines.iter().map(|l| l.line_no as i64).collect::<Vec<i64>>());
        let l_sku = q.push(strings(lines.iter().map(|l| l.sku.as_str())));
        let l_qty = q.push(lines.iter().map(|l| i64::from(l.qty)).collect::<Vec<i64>>());
        let (mut kind, mut site, mut po, mut factory) = (vec![], vec![], vec![], vec![]);
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
        let l_kind = q.push(kind);
        let l_site = q.push::<Vec<Option<String>>>(site);
        let l_po = q.push::<Vec<Option<i64>>>(po);
        let l_factory = q.push::<Vec<Option<String>>>(factory);
        // Balances and movements.
        let b_site = q.push(strings(balances.iter().map(|((s, _), _)| s.as_str())));
        let b_sku = q.push(strings(balances.iter().map(|((_, k), _)| k.as_str())));
        let b_on_hand = q.push(
            balances
                .iter()
                .map(|(_, b)| b.on_hand)
                .collect::<Vec<i64>>(),
        );
        let b_reserved = q.push(
            balances
                .iter()
                .map(|(_, b)| b.reserved)
                .collect::<Vec<i64>>(),
        );
        let m_site = q.push(strings(movements.iter().map(|m| m.site.as_str())));
        let m_sku = q.push(strings(movements.iter().map(|m| m.sku.as_str())));
        let m_kind = q.push(strings(movements.iter().map(|m| m.kind.as_str())));
        let m_qty = q.push(movements.iter().map(|m| m.qty).collect::<Vec<i64>>());
        let m_order = q.push(
            movements
                .iter()
                .map(|m| m.order)
                .collect::<Vec<Option<i64>>>(),
        );
        let m_doc = q.push(strings(movements.iter().map(|m| m.document.as_str())));
        let m_at = q.push(movements.iter().map(|m| micros(m.at)).collect::<Vec<i64>>());
        // Capacity and promises.
        let c_po = q.push(
            capacity
                .iter()
                .map(|c| c.production_order)
                .collect::<Vec<i64>>(),
        );
        let c_factory = q.push(strings(capacity.iter().map(|c| c.factory.as_str())));
        let c_category = q.push(strings(capacity.iter().map(|c| c.category.as_str())));
        let c_day = q.push(
            capacity
                .iter()
                .map(|c| c.day.to_string())
                .collect::<Vec<String>>(),
        );
        let c_units = q.push(
            capacity
                .iter()
                .map(|c| i64::from(c.units))
                .collect::<Vec<i64>>(),
        );
        let r_order = q.push(promises.iter().map(|p| p.order_id).collect::<Vec<i64>>());
        let r_date = q.push(
            promises
                .iter()
                .map(|p| p.date.to_string())
                .collect::<Vec<String>>(),
        );
        let r_at = q.push(promises.iter().map(|p| micros(p.at)).collect::<Vec<i64>>());
        let r_reason = q.push(strings(promises.iter().map(|p| p.reason.as_str())));
        let r_cause = q.push(
            promises
                .iter()
                .map(|p| promise_cause(&p.reason))
                .collect::<Vec<Option<i64>>>(),
        );
        // One statement: the balance rows are locked until the commit, so every round trip
        // saved here is time the other writers of those rows spend waiting. The sub-statements
        // see the same snapshot; foreign keys are checked at its end, when all rows exist.
        let sql = format!(
            "WITH o AS (INSERT INTO orders (id, principal_id, token_id, idempotency_key, request_hash, \
             status, channel, external_ref, customer_name, customer_phone, customer_address, lat, lon, \
             region, created_at, updated_at, promised_date, accepted_on, floor, lift, haul_away) \
             SELECT i, p, t, k, h, st, ch, r, n, ph, a, la, lo, rg, c, c, pr, ac, fl, li, ha FROM unnest(${o_id}::bigint[], \
             ${o_principal}::bigint[], ${o_token}::bigint[], ${o_key}::text[], ${o_hash}::bytea[], \
             ${o_status}::text[], ${o_channel}::text[], ${o_ref}::text[], ${o_name}::text[], \
             ${o_phone}::text[], ${o_address}::text[], ${o_lat}::float8[], ${o_lon}::float8[], \
             ${o_region}::text[], ${o_at}::bigint[], ${o_promised}::text[], ${o_accepted}::text[], \
             ${o_floor}::bigint[], ${o_lift}::bigint[], ${o_haul}::bigint[]) \
             AS u(i, p, t, k, h, st, ch, r, n, ph, a, la, lo, rg, c, pr, ac, fl, li, ha)), \
             po AS (INSERT INTO production_orders (id, order_id, line_no, sku, qty, factory, destination, \
             region, status, category, earliest, ready_date, transfer_days, created_at) \
             SELECT i, o, l, s, q, f, d, r, 'open', c, e, rd, t, a FROM unnest(${p_id}::bigint[], \
             ${p_order}::bigint[], ${p_line}::bigint[], ${p_sku}::text[], ${p_qty}::bigint[], \
             ${p_factory}::text[], ${p_dest}::text[], ${p_region}::text[], ${p_category}::text[], \
             ${p_earliest}::text[], ${p_ready}::text[], ${p_transfer}::bigint[], ${p_at}::bigint[]) \
             AS u(i, o, l, s, q, f, d, r, c, e, rd, t, a)), \
             ol AS (INSERT INTO order_lines (order_id, line_no, sku, qty, kind, site, production_order, factory) \
             SELECT * FROM unnest(${l_order}::bigint[], ${l_no}::bigint[], ${l_sku}::text[], \
             ${l_qty}::bigint[], ${l_kind}::text[], ${l_site}::text[], ${l_po}::bigint[], ${l_factory}::text[])), \
             b AS (UPDATE stock_balances s SET on_hand = u.on_hand, reserved = u.reserved \
             FROM unnest(${b_site}::text[], ${b_sku}::text[], ${b_on_hand}::bigint[], ${b_reserved}::bigint[]) \
             AS u(site, sku, on_hand, reserved) WHERE s.site = u.site AND s.sku = u.sku), \
             mv AS (INSERT INTO stock_movements (site, sku, kind, qty, order_id, document, at) \
             SELECT site, sku, kind, qty, order_id, document, at FROM unnest(${m_site}::text[], \
             ${m_sku}::text[], ${m_kind}::text[], ${m_qty}::bigint[], ${m_order}::bigint[], \
             ${m_doc}::text[], ${m_at}::bigint[]) WITH ORDINALITY \
             AS m(site, sku, kind, qty, order_id, document, at, ord) ORDER BY ord), \
             pc AS (INSERT INTO production_capacity (production_order, factory, category, day, units) \
             SELECT * FROM unnest(${c_po}::bigint[], ${c_factory}::text[], ${c_category}::text[], \
             ${c_day}::text[], ${c_units}::bigint[])), \
             wo AS (INSERT INTO webhook_outbox (webhook_id, order_id, status, at, attempts, next_at, state) \
             SELECT w.id, u.i, u.st, u.c, 0, u.c, 'pending' FROM unnest(${o_id}::bigint[], \
             ${o_principal}::bigint[], ${o_status}::text[], ${o_at}::bigint[]) WITH ORDINALITY \
             AS u(i, p, st, c, n) JOIN webhooks w ON w.channel_id = u.p \
             WHERE u.st = ANY(string_to_array(w.events, ',')) ORDER BY u.n, w.id) \
             INSERT INTO order_promises (order_id, promised_date, at, reason, cause) \
             SELECT o, d, a, r, c FROM unnest(${r_order}::bigint[], ${r_date}::text[], ${r_at}::bigint[], \
             ${r_reason}::text[], ${r_cause}::bigint[]) WITH ORDINALITY AS u(o, d, a, r, c, ord) ORDER BY ord"
        );
        q.run(self.conn, &sql).await
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
        let row = sqlx::query("SELECT id, role, region, crew FROM principals WHERE name = $1")
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
            "INSERT INTO principals (name, role, region, crew, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
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

    async fn insert_crew(
        &mut self,
        depot: &SiteId,
        crew: &NewCrew,
        now: Timestamp,
    ) -> Result<i64, Fail> {
        let (skills, week, days_off) = rendan_store::rows::crew_columns(crew);
        let row = sqlx::query(
            "INSERT INTO crews (depot, name, skills, truck_kg, truck_m3, week, days_off, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
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
        // A separate statement, so that the lock below sees a row a concurrent first booking
        // of the day inserted (it is waited for here).
        sqlx::query(
            "INSERT INTO depot_days (depot, day, status, version) VALUES ($1, $2, 'draft', 0) \
             ON CONFLICT (depot, day) DO NOTHING",
        )
        .bind(depot.as_str())
        .bind(date.to_string())
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        Ok(reads::day_row(self.conn, depot, date, true).await?)
    }

    async fn set_day(
        &mut self,
        depot: &SiteId,
        date: Date,
        status: PlanStatus,
        version: i64,
    ) -> Result<(), Fail> {
        sqlx::query(
            "UPDATE depot_days SET status = $1, version = $2 WHERE depot = $3 AND day = $4",
        )
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
        let order: Vec<i64> = visits.iter().map(|(a, _)| a.order).collect();
        let start: Vec<String> = visits
            .iter()
            .map(|(a, _)| format_time(a.window.start))
            .collect();
        let end: Vec<String> = visits
            .iter()
            .map(|(a, _)| format_time(a.window.end))
            .collect();
        let crew: Vec<i64> = visits.iter().map(|(a, _)| a.crew).collect();
        let position: Vec<i64> = visits.iter().map(|(_, p)| *p as i64).collect();
        // Rows of the day not in `visits` go; the others keep when they were booked.
        sqlx::query(
            "DELETE FROM appointments WHERE depot = $1 AND day = $2 AND NOT (order_id = ANY($3))",
        )
        .bind(depot.as_str())
        .bind(date.to_string())
        .bind(&order)
        .execute(&mut *self.conn)
        .await
        .map_err(db)?;
        sqlx::query(
            "INSERT INTO appointments (order_id, depot, day, window_start, window_end, crew, position, booked_at) \
             SELECT o, $1, $2, s, e, c, p, $3 FROM unnest($4::bigint[], $5::text[], $6::text[], \
             $7::bigint[], $8::bigint[]) AS u(o, s, e, c, p) \
             ON CONFLICT (order_id) DO UPDATE SET crew = excluded.crew, position = excluded.position, \
             window_start = excluded.window_start, window_end = excluded.window_end",
        )
        .bind(depot.as_str())
        .bind(date.to_string())
        .bind(micros(now))
        .bind(&order)
        .bind(&start)
        .bind(&end)
        .bind(&crew)
        .bind(&position)
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
        for p in productions {
            sqlx::query(
                "INSERT INTO production_orders (id, order_id, line_no, sku, qty, factory, \
                 destination, region, status, category, earliest, ready_date, transfer_days, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11, $12, $13)",
            )
            .bind(p.id)
            .bind(p.order_id)
            .bind(p.line_no as i64)
            .bind(p.sku.as_str())
            .bind(i64::from(p.qty))
            .bind(p.factory.as_str())
            .bind(p.destination.as_str())
            .bind(p.region.as_str())
            .bind(p.category.as_str())
            .bind(p.earliest.to_string())
            .bind(p.ready_date.to_string())
            .bind(i64::from(p.transfer_days))
            .bind(micros(p.now))
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        }
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
                "UPDATE order_lines SET kind = $1, site = $2, production_order = $3, factory = $4 \
                 WHERE order_id = $5 AND line_no = $6",
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
        if changes.is_empty() {
            return Ok(());
        }
        let orders: Vec<i64> = changes.iter().map(|c| c.0).collect();
        let statuses: Vec<String> = changes.iter().map(|c| c.1.as_str().to_string()).collect();
        let at: Vec<i64> = changes.iter().map(|c| micros(c.2)).collect();
        // One row per webhook of the order's channel that follows the status, in the order of
        // the changes (the outbox id orders one order's deliveries).
        sqlx::query(
            "INSERT INTO webhook_outbox (webhook_id, order_id, status, at, attempts, next_at, state) \
             SELECT w.id, c.o, c.s, c.a, 0, c.a, 'pending' \
             FROM unnest($1::bigint[], $2::text[], $3::bigint[]) WITH ORDINALITY AS c(o, s, a, n) \
             JOIN orders o ON o.id = c.o JOIN webhooks w ON w.channel_id = o.principal_id \
             WHERE c.s = ANY(string_to_array(w.events, ',')) ORDER BY c.n, w.id",
        )
        .bind(&orders)
        .bind(&statuses)
        .bind(&at)
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
        let row = sqlx::query(
            "INSERT INTO webhooks (channel_id, url, secret, events, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
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
             status_code, error, outcome, next_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
            "UPDATE webhook_outbox SET attempts = greatest(attempts, $1), state = $2, \
             next_at = coalesce($3, next_at), done_at = $4 WHERE id = $5 AND state = 'pending'",
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
        for a in attempts {
            sqlx::query(
                "INSERT INTO visit_attempts (order_id, day, depot, crew, position, window_start, \
                 window_end, dispatched_at, outcome, reason, haul_away_received, unapplied, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(a.order)
            .bind(a.date.to_string())
            .bind(a.depot.as_str())
            .bind(a.crew)
            .bind(a.position as i64)
            .bind(format_time(a.window.start))
            .bind(format_time(a.window.end))
            .bind(micros(a.dispatched_at))
            .bind(a.applied.outcome.as_str())
            .bind(a.applied.outcome.reason().map(|r| r.as_str()))
            .bind(i64::from(a.applied.haul_away_received))
            .bind(a.unapplied.as_deref())
            .bind(micros(now))
            .execute(&mut *self.conn)
            .await
            .map_err(db)?;
        }
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
            "UPDATE visit_attempts SET outcome = $1, reason = $2, haul_away_received = $3, \
             unapplied = $4, updated_at = $5 WHERE order_id = $6 AND day = $7",
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
        let row = sqlx::query("SELECT order_id, fingerprint FROM stop_events WHERE event_id = $1")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
