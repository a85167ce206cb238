//! Write transactions. Each function runs inside the writer's group transaction (in its own
//! savepoint); an `Err` rolls back everything it did.

use crate::backend;
use crate::reads;
use crate::rows::{get, micros};
use jiff::Timestamp;
use rendan_domain::access::{Role, Visibility};
use rendan_domain::catalogue::Sku;
use rendan_domain::fulfilment::{LineChoice, allocate};
use rendan_domain::order::{Fulfilment, Order, OrderEvent, OrderLine, OrderStatus};
use rendan_domain::production::{
    CancelStep, ProductionEvent, ProductionOrder, ProductionStatus, on_order_cancel,
    order_after_completion,
};
use rendan_domain::stock::{Balance, MovementKind};
use rendan_domain::topology::Topology;
use rendan_domain::{Region, SiteId};
use rendan_store::{PlaceOrder, Placed, StockRow, StoreError};
use sqlx::SqliteConnection;
use std::collections::HashMap;

/// One journal entry to record.
pub(crate) struct Entry<'a> {
    pub site: &'a SiteId,
    pub sku: &'a Sku,
    pub kind: MovementKind,
    pub qty: i64,
    pub order: Option<i64>,
    pub document: &'a str,
}

/// Records one movement and the balance it produces, or refuses it (nothing written).
pub(crate) async fn apply_movement(
    conn: &mut SqliteConnection,
    entry: Entry<'_>,
    now: Timestamp,
) -> Result<Balance, StoreError> {
    let prior = reads::balance(conn, entry.site, entry.sku).await?;
    record_movement(conn, entry, prior, now).await
}

/// As [`apply_movement`], when the caller already read the balance in this transaction.
async fn record_movement(
    conn: &mut SqliteConnection,
    entry: Entry<'_>,
    prior: Balance,
    now: Timestamp,
) -> Result<Balance, StoreError> {
    let Entry {
        site,
        sku,
        kind,
        qty,
        order,
        document,
    } = entry;
    let next = prior.apply(kind, qty)?;
    sqlx::query(
        "INSERT INTO stock_balances (site, sku, on_hand, reserved) VALUES (?, ?, ?, ?) \
         ON CONFLICT (site, sku) DO UPDATE SET on_hand = excluded.on_hand, reserved = excluded.reserved",
    )
    .bind(site.as_str())
    .bind(sku.as_str())
    .bind(next.on_hand)
    .bind(next.reserved)
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    sqlx::query("INSERT INTO stock_movements (site, sku, kind, qty, order_id, document, at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(site.as_str())
        .bind(sku.as_str())
        .bind(kind.as_str())
        .bind(qty)
        .bind(order)
        .bind(document)
        .bind(micros(now))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(next)
}

/// Upserts nodes, sites, products and makers.
pub(crate) async fn save_topology(
    conn: &mut SqliteConnection,
    t: &Topology,
) -> Result<(), StoreError> {
    for n in t.nodes() {
        sqlx::query(
            "INSERT INTO nodes (id, name, region, lat, lon, availability_target, agent, main) VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, region = excluded.region, lat = excluded.lat, \
             lon = excluded.lon, availability_target = excluded.availability_target, agent = excluded.agent, main = excluded.main",
        )
        .bind(n.id.as_str())
        .bind(&n.name)
        .bind(n.region.as_str())
        .bind(n.location.lat())
        .bind(n.location.lon())
        .bind(n.availability_target)
        .bind(n.agent.as_deref())
        .bind(n.main)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    for s in t.sites() {
        sqlx::query(
            "INSERT INTO sites (id, kind, node, region, lat, lon, radius_km) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, node = excluded.node, region = excluded.region, \
             lat = excluded.lat, lon = excluded.lon, radius_km = excluded.radius_km",
        )
        .bind(s.id.as_str())
        .bind(s.kind.as_str())
        .bind(s.node.as_str())
        .bind(s.region.as_str())
        .bind(s.location.lat())
        .bind(s.location.lon())
        .bind(s.serves_radius_km)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    }
    for p in t.products() {
        sqlx::query(
            "INSERT INTO products (sku, name, category, volume_m3, weight_kg, install_minutes, skill) VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, category = excluded.category, volume_m3 = excluded.volume_m3, \
             weight_kg = excluded.weight_kg, install_minutes = excluded.install_minutes, skill = excluded.skill",
        )
        .bind(p.sku.as_str())
        .bind(&p.name)
        .bind(p.category.as_str())
        .bind(p.volume_m3)
        .bind(p.weight_kg)
        .bind(i64::from(p.install_minutes))
        .bind(p.skill.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        sqlx::query("DELETE FROM product_makers WHERE sku = ?")
            .bind(p.sku.as_str())
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
        for m in &p.makers {
            sqlx::query("INSERT INTO product_makers (sku, factory, lead_days) VALUES (?, ?, ?)")
                .bind(p.sku.as_str())
                .bind(m.factory.as_str())
                .bind(i64::from(m.lead_days))
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
        }
    }
    Ok(())
}

/// Accepts an order: see [`rendan_store::Store::place_order`].
pub(crate) async fn place_order(
    conn: &mut SqliteConnection,
    cmd: PlaceOrder,
) -> Result<Placed, StoreError> {
    let existing = sqlx::query(
        "SELECT id, request_hash FROM orders WHERE token_id = ? AND idempotency_key = ?",
    )
    .bind(cmd.token_id)
    .bind(&cmd.idempotency_key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    if let Some(row) = existing {
        let id: i64 = get(&row, "id")?;
        let hash: Vec<u8> = get(&row, "request_hash")?;
        if hash != cmd.request_hash {
            return Err(StoreError::IdempotencyMismatch { order: id });
        }
        let order = reads::order(conn, id)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("order {id} vanished")))?;
        return Ok(Placed::Replayed(order));
    }

    // Every balance a line may draw on is read in this transaction (the single writer
    // guarantees nobody reserves meanwhile); the domain decides.
    let mut balances = HashMap::new();
    for (site, sku) in cmd.options.stock_keys() {
        let b = reads::balance(conn, &site, &sku).await?;
        balances.insert((site, sku), b);
    }
    let allocation = allocate(&cmd.options, &cmd.rules, cmd.today, &balances)?;
    let status = allocation.status;
    let promised = allocation.promised;
    let o = &cmd.order;
    let row = sqlx::query(
        "INSERT INTO orders (token_id, idempotency_key, request_hash, status, channel, external_ref, customer_name, \
         customer_phone, customer_address, lat, lon, region, created_at, updated_at, promised_date) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(cmd.token_id)
    .bind(&cmd.idempotency_key)
    .bind(&cmd.request_hash)
    .bind(status.as_str())
    .bind(o.channel.as_str())
    .bind(&o.external_ref)
    .bind(&o.customer.name)
    .bind(&o.customer.phone)
    .bind(&o.customer.address)
    .bind(o.customer.location.lat())
    .bind(o.customer.location.lon())
    .bind(cmd.options.region.as_str())
    .bind(micros(cmd.now))
    .bind(micros(cmd.now))
    .bind(promised.to_string())
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    let order_id: i64 = get(&row, "id")?;
    let mut lines = Vec::with_capacity(allocation.lines.len());
    for (line_no, (opts, decided)) in cmd.options.lines.iter().zip(allocation.lines).enumerate() {
        let qty = i64::from(opts.qty);
        let (prior, ready) = (decided.prior, decided.ready);
        let (fulfilment, site, production, factory) = match decided.choice {
            LineChoice::Stock(site) => {
                let doc = format!("order {order_id}");
                let entry = Entry {
                    site: &site,
                    sku: &opts.sku,
                    kind: MovementKind::Reserve,
                    qty,
                    order: Some(order_id),
                    document: &doc,
                };
                record_movement(conn, entry, prior.unwrap_or_default(), cmd.now).await?;
                (
                    Fulfilment::Stock { site: site.clone() },
                    Some(site),
                    None,
                    None,
                )
            }
            LineChoice::Production(p) => {
                let ready = ready.ok_or_else(|| {
                    StoreError::Backend("a production line without a ready date".into())
                })?;
                let row = sqlx::query(
                    "INSERT INTO production_orders (order_id, line_no, sku, qty, factory, destination, region, status, ready_date, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, ?) RETURNING id",
                )
                .bind(order_id)
                .bind(line_no as i64)
                .bind(opts.sku.as_str())
                .bind(qty)
                .bind(p.factory.as_str())
                .bind(p.destination.as_str())
                .bind(cmd.options.region.as_str())
                .bind(ready.to_string())
                .bind(micros(cmd.now))
                .fetch_one(&mut *conn)
                .await
                .map_err(backend)?;
                let po: i64 = get(&row, "id")?;
                (
                    Fulfilment::Production {
                        production_order: po,
                        factory: p.factory.clone(),
                    },
                    None,
                    Some(po),
                    Some(p.factory),
                )
            }
        };
        let kind = match fulfilment {
            Fulfilment::Stock { .. } => "stock",
            Fulfilment::Production { .. } => "production",
        };
        sqlx::query(
            "INSERT INTO order_lines (order_id, line_no, sku, qty, kind, site, production_order, factory) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(order_id)
        .bind(line_no as i64)
        .bind(opts.sku.as_str())
        .bind(qty)
        .bind(kind)
        .bind(site.as_ref().map(SiteId::as_str))
        .bind(production)
        .bind(factory.as_ref().map(SiteId::as_str))
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
        lines.push(OrderLine {
            sku: opts.sku.clone(),
            qty: opts.qty,
            fulfilment,
        });
    }
    Ok(Placed::Created(Order {
        id: order_id,
        status,
        channel: o.channel,
        external_ref: o.external_ref.clone(),
        customer: o.customer.clone(),
        region: cmd.options.region.clone(),
        created_by: cmd.token_id,
        created_at: cmd.now,
        promised_date: promised,
        lines,
    }))
}

async fn set_status(
    conn: &mut SqliteConnection,
    id: i64,
    status: OrderStatus,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE orders SET status = ?, updated_at = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(micros(now))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Cancels an order; see [`rendan_store::Store::cancel_order`].
pub(crate) async fn cancel_order(
    conn: &mut SqliteConnection,
    id: i64,
    visibility: &Visibility,
    now: Timestamp,
) -> Result<Order, StoreError> {
    let mut order = reads::order(conn, id)
        .await?
        .filter(|o| visibility.admits(&o.region, o.created_by))
        .ok_or_else(|| StoreError::NotFound(format!("order {id}")))?;
    let next = order.status.apply(OrderEvent::Cancel)?;
    let doc = format!("cancel order {id}");
    for line in &order.lines {
        let qty = i64::from(line.qty);
        match &line.fulfilment {
            Fulfilment::Stock { site } => {
                apply_movement(
                    conn,
                    Entry {
                        site,
                        sku: &line.sku,
                        kind: MovementKind::Release,
                        qty,
                        order: Some(id),
                        document: &doc,
                    },
                    now,
                )
                .await?;
            }
            Fulfilment::Production {
                production_order, ..
            } => {
                let po = reads::production(conn, *production_order)
                    .await?
                    .ok_or_else(|| {
                        StoreError::Backend(format!("production order {production_order} vanished"))
                    })?;
                match on_order_cancel(po.status) {
                    CancelStep::Cancel => {
                        let next = po.status.apply(ProductionEvent::Cancel).map_err(|e| {
                            StoreError::ProductionClosed {
                                id: po.id,
                                status: e.current,
                            }
                        })?;
                        close_production(conn, po.id, next, now).await?;
                    }
                    CancelStep::ReleaseGoods => {
                        apply_movement(
                            conn,
                            Entry {
                                site: &po.destination,
                                sku: &po.sku,
                                kind: MovementKind::Release,
                                qty,
                                order: Some(id),
                                document: &doc,
                            },
                            now,
                        )
                        .await?;
                    }
                    CancelStep::Nothing => {}
                }
            }
        }
    }
    set_status(conn, id, next, now).await?;
    order.status = next;
    Ok(order)
}

async fn close_production(
    conn: &mut SqliteConnection,
    id: i64,
    status: ProductionStatus,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE production_orders SET status = ?, closed_at = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(micros(now))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Receives goods; see [`rendan_store::Store::receive_stock`].
pub(crate) async fn receive_stock(
    conn: &mut SqliteConnection,
    site: &SiteId,
    sku: &Sku,
    qty: i64,
    document: &str,
    now: Timestamp,
) -> Result<StockRow, StoreError> {
    let balance = apply_movement(
        conn,
        Entry {
            site,
            sku,
            kind: MovementKind::Receipt,
            qty,
            order: None,
            document,
        },
        now,
    )
    .await?;
    Ok(StockRow {
        site: site.clone(),
        sku: sku.clone(),
        balance,
    })
}

/// Completes a production order; see [`rendan_store::Store::complete_production`].
pub(crate) async fn complete_production(
    conn: &mut SqliteConnection,
    id: i64,
    region: Option<&Region>,
    now: Timestamp,
) -> Result<(ProductionOrder, Order), StoreError> {
    let mut po = reads::production(conn, id)
        .await?
        .filter(|p| region.is_none_or(|r| r == &p.region))
        .ok_or_else(|| StoreError::NotFound(format!("production order {id}")))?;
    let next =
        po.status
            .apply(ProductionEvent::Complete)
            .map_err(|e| StoreError::ProductionClosed {
                id,
                status: e.current,
            })?;
    let qty = i64::from(po.qty);
    let doc = format!("production order {id}");
    apply_movement(
        conn,
        Entry {
            site: &po.destination,
            sku: &po.sku,
            kind: MovementKind::Receipt,
            qty,
            order: Some(po.order_id),
            document: &doc,
        },
        now,
    )
    .await?;
    apply_movement(
        conn,
        Entry {
            site: &po.destination,
            sku: &po.sku,
            kind: MovementKind::Reserve,
            qty,
            order: Some(po.order_id),
            document: &doc,
        },
        now,
    )
    .await?;
    close_production(conn, id, next, now).await?;
    po.status = next;
    let mut order = reads::order(conn, po.order_id)
        .await?
        .ok_or_else(|| StoreError::Backend(format!("order {} vanished", po.order_id)))?;
    let open = sqlx::query(
        "SELECT COUNT(*) AS n FROM production_orders WHERE order_id = ? AND status = 'open'",
    )
    .bind(po.order_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    let still_open = usize::try_from(get::<i64>(&open, "n")?).unwrap_or(0);
    if let Some(next) = order_after_completion(order.status, still_open)? {
        set_status(conn, order.id, next, now).await?;
        order.status = next;
    }
    Ok((po, order))
}

/// Stores a token hash with its role.
pub(crate) async fn create_token(
    conn: &mut SqliteConnection,
    hash: &[u8],
    role: &Role,
    label: &str,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let row = sqlx::query("INSERT INTO tokens (hash, role, region, label, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id")
        .bind(hash)
        .bind(role.name())
        .bind(role.region().map(Region::as_str))
        .bind(label)
        .bind(micros(now))
        .fetch_one(&mut *conn)
        .await
        .map_err(backend)?;
    get(&row, "id")
}
