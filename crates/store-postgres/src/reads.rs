//! Read queries. They run on a pooled connection, or inside a write transaction when a write
//! needs the state it is about to change.

use crate::error::Fail;
use crate::rows::{
    corrupt, get, micros, order_head, order_line, production_order, promise, timestamp,
};
use jiff::civil::Date;
use rendan_domain::SiteId;
use rendan_domain::access::{Principal, Role};
use rendan_domain::appointment::{Appointment, PlanStatus};
use rendan_domain::catalogue::{Category, Sku};
use rendan_domain::crew::Crew;
use rendan_domain::order::{Order, OrderStatus};
use rendan_domain::stock::{Balance, MovementKind};
use rendan_store::{
    Movement, OrderQuery, Page, ProductionOrder, ProductionQuery, StockQuery, StockRow, StoreError,
    TokenInfo,
};
use sqlx::{PgConnection, Postgres, QueryBuilder};

const ORDER_COLUMNS: &str = "id, principal_id, status, channel, external_ref, customer_name, customer_phone, \
     customer_address, lat, lon, region, created_at, promised_date, accepted_on, floor, lift, haul_away";

/// Fills in the lines and promise histories of `orders`, one query each.
async fn attach_lines(conn: &mut PgConnection, orders: &mut [Order]) -> Result<(), Fail> {
    if orders.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = orders.iter().map(|o| o.id).collect();
    let rows = sqlx::query(
        "SELECT order_id, promised_date, at, reason, cause FROM order_promises \
         WHERE order_id = ANY($1) ORDER BY order_id, id",
    )
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let at: std::collections::HashMap<i64, usize> =
        orders.iter().enumerate().map(|(i, o)| (o.id, i)).collect();
    for row in &rows {
        let (order_id, change) = promise(row)?;
        if let Some(&i) = at.get(&order_id) {
            orders[i].promises.push(change);
        }
    }
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT order_id, line_no, sku, qty, kind, site, production_order, factory FROM order_lines WHERE order_id IN (",
    );
    let mut ids = q.separated(", ");
    for o in orders.iter() {
        ids.push_bind(o.id);
    }
    q.push(") ORDER BY order_id, line_no");
    let rows = q.build().fetch_all(&mut *conn).await?;
    for row in &rows {
        let (order_id, line) = order_line(row)?;
        if let Some(&i) = at.get(&order_id) {
            orders[i].lines.push(line);
        }
    }
    Ok(())
}

/// One order with its lines.
pub(crate) async fn order(conn: &mut PgConnection, id: i64) -> Result<Option<Order>, Fail> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut orders = [order_head(&row)?];
    attach_lines(conn, &mut orders).await?;
    let [o] = orders;
    Ok(Some(o))
}

/// Orders by id, in the order of `ids` (missing ones left out).
pub(crate) async fn orders_by_id(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<Order>, Fail> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = ANY($1)");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
    let mut found = rows.iter().map(order_head).collect::<Result<Vec<_>, _>>()?;
    attach_lines(conn, &mut found).await?;
    let mut by_id: std::collections::HashMap<i64, Order> =
        found.into_iter().map(|o| (o.id, o)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// A page of orders, newest first.
pub(crate) async fn orders(
    conn: &mut PgConnection,
    query: &OrderQuery,
) -> Result<Page<Order>, Fail> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {ORDER_COLUMNS} FROM orders WHERE 1 = 1"));
    if let Some(r) = &query.visibility.region {
        q.push(" AND region = ").push_bind(r.as_str().to_string());
    }
    if let Some(t) = query.visibility.created_by {
        q.push(" AND principal_id = ").push_bind(t);
    }
    if let Some(s) = query.status {
        q.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(c) = query.channel {
        q.push(" AND channel = ").push_bind(c.as_str());
    }
    if let Some(r) = &query.region {
        q.push(" AND region = ").push_bind(r.as_str().to_string());
    }
    if let Some(t) = query.created_from {
        q.push(" AND created_at >= ").push_bind(micros(t));
    }
    if let Some(t) = query.created_to {
        q.push(" AND created_at < ").push_bind(micros(t));
    }
    let mut page =
        newest_first(conn, q, query.before_id, query.limit, order_head, |o| o.id).await?;
    attach_lines(conn, &mut page.items).await?;
    Ok(page)
}

/// Finishes a listing query keyed by a descending `id`: continues below `before_id`, fetches one
/// row more than `limit` to learn whether another page follows, and decodes the rows.
async fn newest_first<T>(
    conn: &mut PgConnection,
    mut q: QueryBuilder<Postgres>,
    before_id: Option<i64>,
    limit: u32,
    decode: impl Fn(&sqlx::postgres::PgRow) -> Result<T, StoreError>,
    id: impl Fn(&T) -> i64,
) -> Result<Page<T>, Fail> {
    if let Some(before) = before_id {
        q.push(" AND id < ").push_bind(before);
    }
    let limit = limit.max(1) as usize;
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(limit as i64 + 1);
    let rows = q.build().fetch_all(&mut *conn).await?;
    let items = rows
        .iter()
        .take(limit)
        .map(decode)
        .collect::<Result<Vec<_>, _>>()?;
    let next = if rows.len() > limit {
        items.last().map(id)
    } else {
        None
    };
    Ok(Page { items, next })
}

/// The balances of `keys`, in one statement; with `lock`, locked until the transaction ends,
/// in (site, sku) order so that two transactions taking the same rows never wait on each
/// other. A key without a row is absent from the answer (its balance is zero).
pub(crate) async fn balances(
    conn: &mut PgConnection,
    keys: &[(SiteId, Sku)],
    lock: bool,
) -> Result<Vec<((SiteId, Sku), Balance)>, Fail> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (sites, skus): (Vec<String>, Vec<String>) = keys
        .iter()
        .map(|(s, k)| (s.as_str().to_string(), k.as_str().to_string()))
        .unzip();
    let sql = if lock {
        "SELECT b.site, b.sku, b.on_hand, b.reserved FROM stock_balances b \
         JOIN unnest($1::text[], $2::text[]) AS k(site, sku) ON k.site = b.site AND k.sku = b.sku \
         ORDER BY b.site, b.sku FOR UPDATE OF b"
    } else {
        "SELECT b.site, b.sku, b.on_hand, b.reserved FROM stock_balances b \
         JOIN unnest($1::text[], $2::text[]) AS k(site, sku) ON k.site = b.site AND k.sku = b.sku"
    };
    let rows = sqlx::query(sql)
        .bind(sites)
        .bind(skus)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let site: String = get(r, "site")?;
        let sku: String = get(r, "sku")?;
        out.push((
            (
                SiteId::parse(&site, "site").map_err(corrupt)?,
                Sku::parse(&sku, "sku").map_err(corrupt)?,
            ),
            Balance {
                on_hand: get(r, "on_hand")?,
                reserved: get(r, "reserved")?,
            },
        ));
    }
    Ok(out)
}

/// Balances matching the query.
pub(crate) async fn stock(
    conn: &mut PgConnection,
    query: &StockQuery,
) -> Result<Vec<StockRow>, Fail> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT b.site, b.sku, b.on_hand, b.reserved FROM stock_balances b JOIN sites s ON s.id = b.site WHERE 1 = 1",
    );
    if let Some(site) = &query.site {
        q.push(" AND b.site = ")
            .push_bind(site.as_str().to_string());
    }
    if let Some(sku) = &query.sku {
        q.push(" AND b.sku = ").push_bind(sku.as_str().to_string());
    }
    if let Some(r) = &query.region {
        q.push(" AND s.region = ").push_bind(r.as_str().to_string());
    }
    q.push(" ORDER BY b.site, b.sku");
    let rows = q.build().fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| {
            let site: String = get(r, "site")?;
            let sku: String = get(r, "sku")?;
            Ok(StockRow {
                site: SiteId::parse(&site, "site").map_err(corrupt)?,
                sku: Sku::parse(&sku, "sku").map_err(corrupt)?,
                balance: Balance {
                    on_hand: get(r, "on_hand")?,
                    reserved: get(r, "reserved")?,
                },
            })
        })
        .collect()
}

/// Journal entries after `after`.
pub(crate) async fn movements(
    conn: &mut PgConnection,
    after: i64,
    limit: u32,
) -> Result<Vec<Movement>, Fail> {
    let rows = sqlx::query(
        "SELECT id, site, sku, kind, qty, order_id, document, at FROM stock_movements WHERE id > $1 ORDER BY id LIMIT $2",
    )
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let site: String = get(r, "site")?;
            let sku: String = get(r, "sku")?;
            let kind: String = get(r, "kind")?;
            Ok(Movement {
                id: get(r, "id")?,
                site: SiteId::parse(&site, "site").map_err(corrupt)?,
                sku: Sku::parse(&sku, "sku").map_err(corrupt)?,
                kind: MovementKind::parse(&kind).map_err(corrupt)?,
                qty: get(r, "qty")?,
                order: get(r, "order_id")?,
                document: get(r, "document")?,
                at: timestamp(get(r, "at")?)?,
            })
        })
        .collect()
}

const PRODUCTION_COLUMNS: &str = "id, order_id, sku, qty, factory, destination, region, status, category, \
     earliest, ready_date, transfer_days, created_at, closed_at";

/// One production order.
pub(crate) async fn production(
    conn: &mut PgConnection,
    id: i64,
) -> Result<Option<ProductionOrder>, Fail> {
    let sql = format!("SELECT {PRODUCTION_COLUMNS} FROM production_orders WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(production_order).transpose()?)
}

/// The production orders of these customer orders, by id.
pub(crate) async fn productions_of(
    conn: &mut PgConnection,
    orders: &[i64],
) -> Result<Vec<ProductionOrder>, Fail> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {PRODUCTION_COLUMNS} FROM production_orders WHERE order_id = ANY($1) ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(orders)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(production_order)
        .collect::<Result<_, _>>()?)
}

/// The open production orders of one factory's category, oldest (first promised) first.
pub(crate) async fn queue(
    conn: &mut PgConnection,
    factory: &SiteId,
    category: Category,
) -> Result<Vec<ProductionOrder>, Fail> {
    let sql = format!(
        "SELECT {PRODUCTION_COLUMNS} FROM production_orders \
         WHERE factory = $1 AND category = $2 AND status = 'open' ORDER BY id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(factory.as_str())
        .bind(category.as_str())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(production_order)
        .collect::<Result<_, _>>()?)
}

/// A page of production orders, newest first.
pub(crate) async fn production_orders(
    conn: &mut PgConnection,
    query: &ProductionQuery,
) -> Result<Page<ProductionOrder>, Fail> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {PRODUCTION_COLUMNS} FROM production_orders WHERE 1 = 1"
    ));
    if let Some(s) = query.status {
        q.push(" AND status = ").push_bind(s.as_str());
    }
    if let Some(f) = &query.factory {
        q.push(" AND factory = ").push_bind(f.as_str().to_string());
    }
    if let Some(r) = &query.region {
        q.push(" AND region = ").push_bind(r.as_str().to_string());
    }
    newest_first(
        conn,
        q,
        query.before_id,
        query.limit,
        production_order,
        |p| p.id,
    )
    .await
}

/// The principal behind a token hash, unless the token is revoked.
pub(crate) async fn principal(
    conn: &mut PgConnection,
    hash: &[u8],
) -> Result<Option<Principal>, Fail> {
    let row = sqlx::query(
        "SELECT t.id AS token_id, p.id, p.name, p.role, p.region, p.crew FROM tokens t \
         JOIN principals p ON p.id = t.principal_id WHERE t.hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role: String = get(&row, "role")?;
    let region: Option<String> = get(&row, "region")?;
    Ok(Some(Principal {
        id: get(&row, "id")?,
        name: get(&row, "name")?,
        token_id: get(&row, "token_id")?,
        role: Role::parse(&role, region.as_deref(), get(&row, "crew")?).map_err(corrupt)?,
    }))
}

const TOKEN_SELECT: &str = "SELECT t.id, t.principal_id, p.name, p.role, p.region, p.crew, t.label, t.created_at, \
     t.revoked_at FROM tokens t JOIN principals p ON p.id = t.principal_id";

fn token_info(row: &sqlx::postgres::PgRow) -> Result<TokenInfo, StoreError> {
    let role: String = get(row, "role")?;
    let region: Option<String> = get(row, "region")?;
    let revoked: Option<i64> = get(row, "revoked_at")?;
    Ok(TokenInfo {
        id: get(row, "id")?,
        principal_id: get(row, "principal_id")?,
        principal: get(row, "name")?,
        role: Role::parse(&role, region.as_deref(), get(row, "crew")?).map_err(corrupt)?,
        label: get(row, "label")?,
        created_at: timestamp(get(row, "created_at")?)?,
        revoked_at: revoked.map(timestamp).transpose()?,
    })
}

/// One token, without its secret.
pub(crate) async fn token(conn: &mut PgConnection, id: i64) -> Result<Option<TokenInfo>, Fail> {
    let sql = format!("{TOKEN_SELECT} WHERE t.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(token_info).transpose()?)
}

/// Every token, oldest first.
pub(crate) async fn tokens(conn: &mut PgConnection) -> Result<Vec<TokenInfo>, Fail> {
    let sql = format!("{TOKEN_SELECT} ORDER BY t.id");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(token_info).collect::<Result<_, _>>()?)
}

/// Whether an admin token that is not revoked exists.
pub(crate) async fn has_admin(conn: &mut PgConnection) -> Result<bool, Fail> {
    let row = sqlx::query(
        "SELECT EXISTS (SELECT 1 FROM tokens t JOIN principals p ON p.id = t.principal_id \
         WHERE p.role = 'admin' AND t.revoked_at IS NULL) AS present",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(get::<bool>(&row, "present")?)
}

/// Orders per status, every status listed.
pub(crate) async fn order_counts(conn: &mut PgConnection) -> Result<Vec<(OrderStatus, i64)>, Fail> {
    let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
        .fetch_all(&mut *conn)
        .await?;
    let mut counts: Vec<(OrderStatus, i64)> = OrderStatus::ALL.iter().map(|s| (*s, 0)).collect();
    for r in &rows {
        let status: String = get(r, "status")?;
        let s = OrderStatus::parse(&status, "status").map_err(corrupt)?;
        if let Some(c) = counts.iter_mut().find(|(k, _)| *k == s) {
            c.1 = get(r, "n")?;
        }
    }
    Ok(counts)
}

const CREW_COLUMNS: &str = "id, depot, name, skills, truck_kg, truck_m3, week, days_off";

/// Crews of one depot (every crew when `None`), by id.
pub(crate) async fn crews(
    conn: &mut PgConnection,
    depot: Option<&SiteId>,
) -> Result<Vec<Crew>, Fail> {
    let mut q: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {CREW_COLUMNS} FROM crews WHERE 1 = 1"));
    if let Some(d) = depot {
        q.push(" AND depot = ").push_bind(d.as_str().to_string());
    }
    q.push(" ORDER BY id");
    let rows = q.build().fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(crate::rows::crew)
        .collect::<Result<_, _>>()?)
}

/// One crew.
pub(crate) async fn crew(conn: &mut PgConnection, id: i64) -> Result<Option<Crew>, Fail> {
    let sql = format!("SELECT {CREW_COLUMNS} FROM crews WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(crate::rows::crew).transpose()?)
}

const APPOINTMENT_COLUMNS: &str = "order_id, depot, day, window_start, window_end, crew, position";

/// The visits of a depot-day, by crew then position.
pub(crate) async fn day_visits(
    conn: &mut PgConnection,
    depot: &SiteId,
    date: Date,
) -> Result<Vec<(Appointment, usize)>, Fail> {
    let sql = format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE depot = $1 AND day = $2 ORDER BY crew, position"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(depot.as_str())
        .bind(date.to_string())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(crate::rows::appointment)
        .collect::<Result<_, _>>()?)
}

/// An order's appointment and its position.
pub(crate) async fn appointment_of(
    conn: &mut PgConnection,
    order: i64,
) -> Result<Option<(Appointment, usize)>, Fail> {
    let sql = format!("SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE order_id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(order)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(crate::rows::appointment).transpose()?)
}

/// A depot-day's status and version (an empty draft at version 0 when it has no row); with
/// `lock`, the row (which must exist) is locked until the transaction ends.
pub(crate) async fn day_head(
    conn: &mut PgConnection,
    depot: &SiteId,
    date: Date,
) -> Result<(PlanStatus, i64), Fail> {
    day_row(conn, depot, date, false).await
}

pub(crate) async fn day_row(
    conn: &mut PgConnection,
    depot: &SiteId,
    date: Date,
    lock: bool,
) -> Result<(PlanStatus, i64), Fail> {
    let sql = if lock {
        "SELECT status, version FROM depot_days WHERE depot = $1 AND day = $2 FOR UPDATE"
    } else {
        "SELECT status, version FROM depot_days WHERE depot = $1 AND day = $2"
    };
    let row = sqlx::query(sql)
        .bind(depot.as_str())
        .bind(date.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    match row {
        None => Ok((PlanStatus::Draft, 0)),
        Some(r) => {
            let status: String = get(&r, "status")?;
            Ok((
                PlanStatus::parse(&status, "status").map_err(corrupt)?,
                get(&r, "version")?,
            ))
        }
    }
}

/// The visits of a depot's days from `from` to `to` (inclusive), by day, crew and position.
pub(crate) async fn visits_between(
    conn: &mut PgConnection,
    depot: &SiteId,
    from: Date,
    to: Date,
) -> Result<Vec<(Appointment, usize)>, Fail> {
    let sql = format!(
        "SELECT {APPOINTMENT_COLUMNS} FROM appointments WHERE depot = $1 AND day >= $2 AND day <= $3 \
         ORDER BY day, crew, position"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(depot.as_str())
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(crate::rows::appointment)
        .collect::<Result<_, _>>()?)
}

/// The status and version of a depot's days from `from` to `to` that have a row.
pub(crate) async fn heads_between(
    conn: &mut PgConnection,
    depot: &SiteId,
    from: Date,
    to: Date,
) -> Result<Vec<(Date, (PlanStatus, i64))>, Fail> {
    let rows = sqlx::query(
        "SELECT day, status, version FROM depot_days WHERE depot = $1 AND day >= $2 AND day <= $3",
    )
    .bind(depot.as_str())
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let day: String = get(r, "day")?;
        let status: String = get(r, "status")?;
        out.push((
            rendan_store::rows::date(&day)?,
            (
                PlanStatus::parse(&status, "status").map_err(corrupt)?,
                get(r, "version")?,
            ),
        ));
    }
    Ok(out)
}

/// What planning needs of the orders booked on a depot's days from `from` to `to`.
pub(crate) async fn visits_on(
    conn: &mut PgConnection,
    depot: &SiteId,
    from: Date,
    to: Date,
) -> Result<Vec<rendan_store::Visit>, Fail> {
    let rows = sqlx::query(
        "SELECT o.id, o.status, o.lat, o.lon, o.floor, o.lift, o.haul_away FROM appointments a \
         JOIN orders o ON o.id = a.order_id WHERE a.depot = $1 AND a.day >= $2 AND a.day <= $3",
    )
    .bind(depot.as_str())
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let mut visits = rows
        .iter()
        .map(crate::rows::visit)
        .collect::<Result<Vec<_>, _>>()?;
    let rows = sqlx::query(
        "SELECT l.order_id, l.sku, l.qty FROM order_lines l JOIN appointments a ON a.order_id = l.order_id \
         WHERE a.depot = $1 AND a.day >= $2 AND a.day <= $3 ORDER BY l.order_id, l.line_no",
    )
    .bind(depot.as_str())
    .bind(from.to_string())
    .bind(to.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let lines = rows
        .iter()
        .map(crate::rows::visit_line)
        .collect::<Result<Vec<_>, _>>()?;
    rendan_store::rows::attach_visit_lines(&mut visits, lines);
    Ok(visits)
}

/// The columns `rendan_store::rows::attempt` reads.
pub(crate) const ATTEMPT_COLUMNS: &str = "order_id, day, depot, crew, position, window_start, \
     window_end, dispatched_at, outcome, reason, haul_away_received, unapplied";

/// The columns `rendan_store::rows::reported` reads.
pub(crate) const EVENT_COLUMNS: &str = "event_id, order_id, day, kind, at, lat, lon, reason, \
     proof, photo_sha256, signature_sha256, posted_by, received_at";

/// Every visit of an order that went out, oldest first.
pub(crate) async fn attempts_of(
    conn: &mut PgConnection,
    order: i64,
) -> Result<Vec<rendan_domain::stop::Attempt>, Fail> {
    let sql =
        format!("SELECT {ATTEMPT_COLUMNS} FROM visit_attempts WHERE order_id = $1 ORDER BY day");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(order)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(crate::rows::attempt)
        .collect::<Result<_, _>>()?)
}

/// The stop events of an order (of one of its visits when `date` is given), in device-time
/// order.
pub(crate) async fn stop_events_of(
    conn: &mut PgConnection,
    order: i64,
    date: Option<Date>,
) -> Result<Vec<rendan_domain::stop::Reported>, Fail> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM stop_events WHERE order_id = $1 \
         AND ($2::text IS NULL OR day = $2) ORDER BY at, event_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(order)
        .bind(date.map(|d| d.to_string()))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .map(crate::rows::reported)
        .collect::<Result<_, _>>()?)
}

/// Every visit and event of the orders with a visit dated in `from..=to`.
pub(crate) async fn visit_log(
    conn: &mut PgConnection,
    from: Date,
    to: Date,
) -> Result<
    (
        Vec<rendan_domain::stop::Attempt>,
        Vec<rendan_domain::stop::Reported>,
    ),
    Fail,
> {
    let orders = "SELECT order_id FROM visit_attempts WHERE day >= $1 AND day <= $2";
    let sql = format!(
        "SELECT {ATTEMPT_COLUMNS} FROM visit_attempts WHERE order_id IN ({orders}) \
         ORDER BY order_id, day"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let attempts = rows
        .iter()
        .map(crate::rows::attempt)
        .collect::<Result<_, _>>()?;
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM stop_events WHERE order_id IN ({orders}) \
         ORDER BY order_id, at, event_id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(from.to_string())
        .bind(to.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let events = rows
        .iter()
        .map(crate::rows::reported)
        .collect::<Result<_, _>>()?;
    Ok((attempts, events))
}

/// Webhooks (of one channel, or one by id), oldest first.
pub(crate) async fn webhooks(
    conn: &mut PgConnection,
    channel: Option<i64>,
    id: Option<i64>,
) -> Result<Vec<rendan_domain::webhook::Webhook>, Fail> {
    let rows = sqlx::query(
        "SELECT id, channel_id, url, events, created_at FROM webhooks \
         WHERE ($1::bigint IS NULL OR channel_id = $1) AND ($2::bigint IS NULL OR id = $2) ORDER BY id",
    )
    .bind(channel)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(crate::rows::webhook)
        .collect::<Result<_, _>>()?)
}

/// Outbox rows due at `now`, the oldest pending per webhook and order.
pub(crate) async fn due_deliveries(
    conn: &mut PgConnection,
    now: i64,
    limit: u32,
) -> Result<Vec<rendan_store::DueDelivery>, Fail> {
    let rows = sqlx::query(
        "SELECT x.id, x.webhook_id, w.url, w.secret, x.order_id, o.external_ref, x.status, x.at, \
         x.attempts FROM webhook_outbox x JOIN webhooks w ON w.id = x.webhook_id \
         JOIN orders o ON o.id = x.order_id \
         WHERE x.state = 'pending' AND x.next_at <= $1 AND NOT EXISTS (SELECT 1 FROM webhook_outbox p \
         WHERE p.webhook_id = x.webhook_id AND p.order_id = x.order_id AND p.state = 'pending' \
         AND p.id < x.id) ORDER BY x.id LIMIT $2",
    )
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(crate::rows::due_delivery)
        .collect::<Result<_, _>>()?)
}

/// A webhook's attempts after id `after`, oldest first.
pub(crate) async fn delivery_attempts(
    conn: &mut PgConnection,
    webhook: i64,
    after: i64,
    limit: u32,
) -> Result<Vec<(i64, rendan_store::DeliveryAttempt)>, Fail> {
    let rows = sqlx::query(
        "SELECT id, outbox_id, webhook_id, order_id, status, attempt, at, status_code, error, \
         outcome, next_at FROM webhook_attempts WHERE webhook_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(webhook)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(crate::rows::delivery_attempt)
        .collect::<Result<_, _>>()?)
}
