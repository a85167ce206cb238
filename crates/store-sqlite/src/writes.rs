//! Write transactions. Each function runs inside the writer's group transaction (in its own
//! savepoint); an `Err` rolls back everything it did.

use crate::backend;
use crate::reads;
use crate::rows::{corrupt, get, micros};
use jiff::Timestamp;
use rendan_domain::access::{Role, Visibility, check_new_token};
use rendan_domain::catalogue::Sku;
use rendan_domain::fulfilment::{LineChoice, allocate};
use rendan_domain::idempotency::judge;
use rendan_domain::order::{
    Fulfilment, Order, OrderEvent, OrderLine, OrderStatus, check_reference,
};
use rendan_domain::production::{
    CancelStep, ProductionEvent, ProductionOrder, ProductionStatus, on_order_cancel,
    order_after_completion,
};
use rendan_domain::stock::{Balance, MovementKind};
use rendan_domain::topology::Topology;
use rendan_domain::{Region, SiteId};
use rendan_store::{
    Idem, NewTokenRecord, Outcome, PlaceOrder, Placed, StockRow, StoreError, TokenInfo,
};
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
    // The key and the reference in one statement: each statement is a hand-off to sqlx's
    // SQLite worker thread, and this runs for every order (two indexed lookups, the key first).
    let seen = sqlx::query(
        "SELECT id, request_hash, 1 AS same_key FROM orders WHERE principal_id = ?1 AND idempotency_key = ?2 \
         UNION ALL \
         SELECT id, request_hash, 0 AS same_key FROM orders WHERE principal_id = ?1 AND channel = ?3 AND external_ref = ?4 \
         ORDER BY same_key DESC, id LIMIT 1",
    )
    .bind(cmd.idem.principal)
    .bind(&cmd.idem.key)
    .bind(cmd.order.channel.as_str())
    .bind(&cmd.order.external_ref)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    let mut existing = None;
    if let Some(row) = seen {
        let id: i64 = get(&row, "id")?;
        if get::<i64>(&row, "same_key")? == 1 {
            let hash: Vec<u8> = get(&row, "request_hash")?;
            judge(&hash, &cmd.idem.fingerprint).map_err(|_| StoreError::IdempotencyMismatch)?;
            let order = reads::order(conn, id)
                .await?
                .ok_or_else(|| StoreError::Backend(format!("order {id} vanished")))?;
            return Ok(Placed::Replayed(order));
        }
        existing = Some(id);
    }
    check_reference(&cmd.order, existing)?;

    // Every balance a line may draw on is read in this transaction (the single writer
    // guarantees nobody reserves meanwhile); the domain decides.
    let mut balances = HashMap::new();
    for (site, sku) in cmd.options.stock_keys() {
        let b = reads::balance(conn, &site, &sku).await?;
        balances.insert((site, sku), b);
    }
    let allocation = allocate(&cmd.options, &cmd.rules, cmd.now, &balances)?;
    let status = allocation.status;
    let promised = allocation.promised;
    let o = &cmd.order;
    let row = sqlx::query(
        "INSERT INTO orders (principal_id, token_id, idempotency_key, request_hash, status, channel, external_ref, customer_name, \
         customer_phone, customer_address, lat, lon, region, created_at, updated_at, promised_date) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(cmd.idem.principal)
    .bind(cmd.token_id)
    .bind(&cmd.idem.key)
    .bind(&cmd.idem.fingerprint)
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
        created_by: cmd.idem.principal,
        created_at: cmd.now,
        promised_date: promised,
        lines,
    }))
}

/// What the first request with a key produced.
pub(crate) struct Remembered {
    pub ref_id: i64,
    pub on_hand: Option<i64>,
    pub reserved: Option<i64>,
}

/// The memory of `idem` for `operation`, if the key was used: refused when the command
/// differs from the first one.
pub(crate) async fn recall(
    conn: &mut SqliteConnection,
    operation: &str,
    idem: &Idem,
) -> Result<Option<Remembered>, StoreError> {
    let row = sqlx::query(
        "SELECT request_hash, ref_id, on_hand, reserved FROM idempotency \
         WHERE principal_id = ? AND operation = ? AND key = ?",
    )
    .bind(idem.principal)
    .bind(operation)
    .bind(&idem.key)
    .fetch_optional(&mut *conn)
    .await
    .map_err(backend)?;
    let Some(row) = row else { return Ok(None) };
    let hash: Vec<u8> = get(&row, "request_hash")?;
    judge(&hash, &idem.fingerprint).map_err(|_| StoreError::IdempotencyMismatch)?;
    Ok(Some(Remembered {
        ref_id: get(&row, "ref_id")?,
        on_hand: get(&row, "on_hand")?,
        reserved: get(&row, "reserved")?,
    }))
}

/// Remembers what the first request with `idem` produced, in the same transaction.
pub(crate) async fn remember(
    conn: &mut SqliteConnection,
    operation: &str,
    idem: &Idem,
    what: Remembered,
    now: Timestamp,
) -> Result<(), StoreError> {
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
    .execute(&mut *conn)
    .await
    .map_err(backend)?;
    Ok(())
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
    idem: Option<Idem>,
) -> Result<Outcome<Order>, StoreError> {
    if let Some(idem) = &idem
        && let Some(seen) = recall(conn, "cancel_order", idem).await?
    {
        let order = reads::order(conn, seen.ref_id)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("order {} vanished", seen.ref_id)))?;
        return Ok(Outcome::Replayed(order));
    }
    let order = cancel(conn, id, visibility, now).await?;
    if let Some(idem) = &idem {
        let what = Remembered {
            ref_id: order.id,
            on_hand: None,
            reserved: None,
        };
        remember(conn, "cancel_order", idem, what, now).await?;
    }
    Ok(Outcome::Created(order))
}

async fn cancel(
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
    idem: Option<Idem>,
) -> Result<Outcome<StockRow>, StoreError> {
    if let Some(idem) = &idem
        && let Some(seen) = recall(conn, "receive_stock", idem).await?
    {
        return Ok(Outcome::Replayed(StockRow {
            site: site.clone(),
            sku: sku.clone(),
            balance: Balance {
                on_hand: seen.on_hand.unwrap_or_default(),
                reserved: seen.reserved.unwrap_or_default(),
            },
        }));
    }
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
    if let Some(idem) = &idem {
        let movement = sqlx::query("SELECT last_insert_rowid() AS id")
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
        let what = Remembered {
            ref_id: get(&movement, "id")?,
            on_hand: Some(balance.on_hand),
            reserved: Some(balance.reserved),
        };
        remember(conn, "receive_stock", idem, what, now).await?;
    }
    Ok(Outcome::Created(StockRow {
        site: site.clone(),
        sku: sku.clone(),
        balance,
    }))
}

/// Completes a production order; see [`rendan_store::Store::complete_production`].
pub(crate) async fn complete_production(
    conn: &mut SqliteConnection,
    id: i64,
    region: Option<&Region>,
    now: Timestamp,
    idem: Option<Idem>,
) -> Result<Outcome<(ProductionOrder, Order)>, StoreError> {
    if let Some(idem) = &idem
        && let Some(seen) = recall(conn, "complete_production", idem).await?
    {
        let po = reads::production(conn, seen.ref_id).await?.ok_or_else(|| {
            StoreError::Backend(format!("production order {} vanished", seen.ref_id))
        })?;
        let order = reads::order(conn, po.order_id)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("order {} vanished", po.order_id)))?;
        return Ok(Outcome::Replayed((po, order)));
    }
    let done = complete(conn, id, region, now).await?;
    if let Some(idem) = &idem {
        let what = Remembered {
            ref_id: done.0.id,
            on_hand: None,
            reserved: None,
        };
        remember(conn, "complete_production", idem, what, now).await?;
    }
    Ok(Outcome::Created(done))
}

async fn complete(
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

/// Stores a token for its principal, creating the principal on first use.
pub(crate) async fn create_token(
    conn: &mut SqliteConnection,
    token: NewTokenRecord,
    idem: Option<Idem>,
) -> Result<Outcome<TokenInfo>, StoreError> {
    if let Some(idem) = &idem
        && let Some(seen) = recall(conn, "create_token", idem).await?
    {
        let info = reads::token(conn, seen.ref_id)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("token {} vanished", seen.ref_id)))?;
        return Ok(Outcome::Replayed(info));
    }
    let existing = sqlx::query("SELECT id, role, region FROM principals WHERE name = ?")
        .bind(token.principal.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    let (principal_id, role) = match existing {
        Some(row) => {
            let role: String = get(&row, "role")?;
            let region: Option<String> = get(&row, "region")?;
            let role = Role::parse(&role, region.as_deref()).map_err(corrupt)?;
            (get::<i64>(&row, "id")?, Some(role))
        }
        None => {
            let row = sqlx::query(
                "INSERT INTO principals (name, role, region, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(token.principal.as_str())
            .bind(token.role.name())
            .bind(token.role.region().map(Region::as_str))
            .bind(micros(token.now))
            .fetch_one(&mut *conn)
            .await
            .map_err(backend)?;
            (get::<i64>(&row, "id")?, None)
        }
    };
    check_new_token(&token.principal, role.as_ref(), &token.role)?;
    let row = sqlx::query(
        "INSERT INTO tokens (hash, role, region, label, created_at, principal_id) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&token.hash)
    .bind(token.role.name())
    .bind(token.role.region().map(Region::as_str))
    .bind(&token.label)
    .bind(micros(token.now))
    .bind(principal_id)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    let id: i64 = get(&row, "id")?;
    if let Some(idem) = &idem {
        let what = Remembered {
            ref_id: id,
            on_hand: None,
            reserved: None,
        };
        remember(conn, "create_token", idem, what, token.now).await?;
    }
    Ok(Outcome::Created(TokenInfo {
        id,
        principal_id,
        principal: token.principal.to_string(),
        role: token.role,
        label: token.label,
        created_at: token.now,
        revoked_at: None,
    }))
}

/// Revokes a token; a revoked token stays revoked at its first revocation time.
pub(crate) async fn revoke_token(
    conn: &mut SqliteConnection,
    id: i64,
    now: Timestamp,
) -> Result<TokenInfo, StoreError> {
    sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .bind(micros(now))
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    reads::token(conn, id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {id}")))
}
