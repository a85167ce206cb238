//! What happens at the door: sending a day's orders out, and the crews' stop events.
//!
//! The goods follow the order in the ledger. When a published day starts, each of its orders
//! is loaded: its reserved units are issued from the warehouse holding them, in the same
//! transaction as `out_for_delivery`. A failed visit brings them back (received and reserved
//! for the order again), or, when they came back damaged or wrong, receives them into the
//! depot's returns stock and reserves replacements. A collected old appliance is received into
//! the depot's returns stock. `ledger::check` therefore balances after every event.

use super::appointments::{lock_with_its_day, release_visit};
use super::order_of;
use super::production::replan;
use super::stock::Journal;
use crate::tx::{Fail, LineRow, MovementRow, ProductionRow, Tx};
use crate::{DepotDay, Outcome, RecordStop, StopRecord, StoreError};
use jiff::Timestamp;
use jiff::civil::Date;
use rendan_domain::SiteId;
use rendan_domain::catalogue::Sku;
use rendan_domain::fulfilment::{Queue, options};
use rendan_domain::order::{Fulfilment, LineRequest, NewOrder, Order, OrderEvent};
use rendan_domain::production::{ProductionOrder, ProductionStatus};
use rendan_domain::stock::MovementKind;
use rendan_domain::stop::{Applied, Attempt, Goods, Outcome as Visit, Reported, fold, reconcile};
use rendan_domain::topology::returns_site_of;

/// Where each unit of an order's lines is held: `(warehouse, sku, qty)` per line.
fn held_at(
    order: &Order,
    productions: &[ProductionOrder],
) -> Result<Vec<(SiteId, Sku, i64)>, Fail> {
    order
        .lines
        .iter()
        .map(|line| {
            let site = match &line.fulfilment {
                Fulfilment::Stock { site } => site.clone(),
                Fulfilment::Production {
                    production_order, ..
                } => productions
                    .iter()
                    .find(|p| p.id == *production_order)
                    .map(|p| p.destination.clone())
                    .ok_or_else(|| {
                        StoreError::Backend(format!("production order {production_order} vanished"))
                    })?,
            };
            Ok((site, line.sku.clone(), i64::from(line.qty)))
        })
        .collect()
}

fn movement(
    site: &SiteId,
    sku: &Sku,
    kind: MovementKind,
    qty: i64,
    order: i64,
    doc: &str,
    at: Timestamp,
) -> MovementRow {
    MovementRow {
        site: site.clone(),
        sku: sku.clone(),
        kind,
        qty,
        order: Some(order),
        document: doc.to_string(),
        at,
    }
}

/// Sends the scheduled orders of a published day that has begun out for delivery: each
/// order's goods are issued from their warehouse and the visit is recorded as it went out. An
/// order whose goods are not all in (its production is late) cannot be loaded: its visit is
/// taken off the day and it waits for production again, to be booked anew.
pub(super) async fn dispatch(
    tx: &mut dyn Tx,
    day: &DepotDay,
    date: Date,
    now: Timestamp,
) -> Result<(), Fail> {
    let ids: Vec<i64> = day.visits.iter().map(|v| v.visit.order).collect();
    let orders = tx.orders(&ids).await?;
    let productions = tx.productions_of(&ids).await?;
    let mut going = Vec::new();
    let mut keys = Vec::new();
    let mut released = false;
    for order in &orders {
        let Ok(next) = order.status.apply(OrderEvent::Dispatch) else {
            continue;
        };
        let own: Vec<ProductionOrder> = productions
            .iter()
            .filter(|p| p.order_id == order.id)
            .cloned()
            .collect();
        if own.iter().any(|p| p.status == ProductionStatus::Open) {
            if let Some((appointment, _)) = tx.appointment_of(order.id).await? {
                release_visit(tx, &appointment, now).await?;
                released = true;
            }
            let back = order
                .status
                .apply(OrderEvent::Unbook { all_ready: false })?;
            super::set_status(tx, order.id, back, now).await?;
            continue;
        }
        let held = held_at(order, &own)?;
        keys.extend(held.iter().map(|(s, k, _)| (s.clone(), k.clone())));
        going.push((order.id, next, held));
    }
    let mut journal = Journal::open(tx, &keys).await?;
    let mut attempts = Vec::new();
    // Positions moved only when a visit left the day.
    let reread;
    let plan = if released {
        reread = super::read_day(tx, &day.depot, date).await?;
        &reread
    } else {
        day
    };
    for (id, next, held) in &going {
        let doc = format!("load order {id} for {date}");
        for (site, sku, qty) in held {
            journal.apply(movement(
                site,
                sku,
                MovementKind::Issue,
                *qty,
                *id,
                &doc,
                now,
            ))?;
        }
        let Some(placed) = plan.visits.iter().find(|v| v.visit.order == *id) else {
            continue;
        };
        attempts.push(Attempt {
            order: *id,
            depot: day.depot.clone(),
            date,
            window: placed.appointment.window,
            crew: placed.appointment.crew,
            position: placed.position,
            dispatched_at: now,
            applied: Applied {
                outcome: Visit::Pending,
                haul_away_received: false,
            },
            unapplied: None,
        });
        super::set_status(tx, *id, *next, now).await?;
    }
    journal.write(tx).await?;
    tx.insert_attempts(&attempts, now).await
}

/// Records a crew's stop event; see [`crate::Store::record_stop`].
pub async fn record_stop(tx: &mut dyn Tx, cmd: &RecordStop) -> Result<Outcome<StopRecord>, Fail> {
    if let Some((order, fingerprint)) = tx.stop_event_seen(cmd.event.id).await? {
        if order != cmd.order || fingerprint != cmd.fingerprint {
            return Err(StoreError::Exists(format!(
                "event_id {} was already used for another event",
                cmd.event.id
            ))
            .into());
        }
        let attempt = visit_of(tx, cmd).await?;
        return Ok(Outcome::Replayed(record_of(tx, attempt).await?));
    }
    lock_with_its_day(tx, cmd.order).await?;
    let mut attempt = visit_of(tx, cmd).await?;
    let order = order_of(tx, cmd.order).await?;
    tx.insert_stop_event(
        &Reported {
            event: cmd.event,
            order: cmd.order,
            date: attempt.date,
            posted_by: cmd.principal,
            received_at: cmd.now,
        },
        &cmd.fingerprint,
    )
    .await?;
    let events = tx.stop_events_of(cmd.order, attempt.date).await?;
    let state = fold(&events.iter().map(|r| r.event).collect::<Vec<_>>());
    match reconcile(attempt.applied, &state, order.status) {
        Err(moved) => attempt.unapplied = Some(moved.to_string()),
        Ok(c) => {
            let queues =
                move_goods(tx, cmd, &attempt, &order, c.goods, c.receive_haul_away).await?;
            if let Some(event) = c.order {
                let event = match event {
                    OrderEvent::FailVisit { .. } => OrderEvent::FailVisit {
                        all_ready: queues.is_empty(),
                    },
                    other => other,
                };
                let next = order.status.apply(event)?;
                // The order leaves the plan it was on: the failed day's (so it can be booked
                // again), or the next booking a late installation makes moot.
                if matches!(event, OrderEvent::FailVisit { .. } | OrderEvent::Install)
                    && let Some((appointment, _)) = tx.appointment_of(order.id).await?
                    && (appointment.date != attempt.date || event != OrderEvent::Install)
                {
                    release_visit(tx, &appointment, cmd.now).await?;
                }
                super::set_status(tx, order.id, next, cmd.now).await?;
            }
            // New production orders take their place in their factories' queues, and the
            // order its new promise.
            if let Some(&(_, cause)) = queues.first() {
                let queues: Vec<Queue> = queues.into_iter().map(|(q, _)| q).collect();
                replan(tx, &cmd.planning, &queues, cmd.now, cause, [order.id]).await?;
            }
            attempt.applied = c.applied;
            attempt.unapplied = None;
        }
    }
    tx.update_attempt(&attempt, cmd.now).await?;
    Ok(Outcome::Created(record_of(tx, attempt).await?))
}

/// The visit of `cmd.order` on `cmd.date` that the caller may report for.
async fn visit_of(tx: &mut dyn Tx, cmd: &RecordStop) -> Result<Attempt, Fail> {
    tx.attempts_of(cmd.order)
        .await?
        .into_iter()
        .find(|a| a.date == cmd.date && cmd.crew.is_none_or(|c| c == a.crew))
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "a visit of order {} on {} on the caller's routes",
                cmd.order, cmd.date
            ))
            .into()
        })
}

async fn record_of(tx: &mut dyn Tx, attempt: Attempt) -> Result<StopRecord, Fail> {
    let events = tx.stop_events_of(attempt.order, attempt.date).await?;
    let state = fold(&events.iter().map(|r| r.event).collect::<Vec<_>>());
    let status = order_of(tx, attempt.order).await?.status;
    Ok(StopRecord {
        attempt,
        state,
        events,
        status,
    })
}

/// Moves the goods as a visit's new outcome says; answers the queues that new production
/// orders joined, each with the new production order (empty when every line's goods are
/// reserved in a warehouse afterwards).
async fn move_goods(
    tx: &mut dyn Tx,
    cmd: &RecordStop,
    attempt: &Attempt,
    order: &Order,
    goods: Goods,
    haul_away: bool,
) -> Result<Vec<(Queue, i64)>, Fail> {
    if goods == Goods::Stay && !haul_away {
        return Ok(Vec::new());
    }
    let productions = tx.productions_of(&[order.id]).await?;
    let held = held_at(order, &productions)?;
    let returns = returns_site_of(&attempt.depot)?;
    let doc = format!("visit of order {} on {}", order.id, attempt.date);
    // Replacements are placed by the rules a new order follows: the serving warehouses with
    // free stock, nearest first, else the factory whose goods arrive first.
    let replacing = goods == Goods::ReturnUnusable;
    let choices = if replacing {
        let request = NewOrder {
            channel: order.channel,
            external_ref: order.external_ref.clone(),
            customer: order.customer.clone(),
            lines: order
                .lines
                .iter()
                .map(|l| LineRequest {
                    sku: l.sku.clone(),
                    qty: l.qty,
                })
                .collect(),
            site_access: order.site_access,
        };
        options(&cmd.planning.topology, &cmd.planning.rules, &request)
            .map_err(|e| {
                StoreError::Backend(format!("order {} cannot be re-served: {e}", order.id))
            })?
            .lines
    } else {
        Vec::new()
    };
    // Only the balances a movement will touch are opened (opening creates a missing row).
    let to_returns = replacing || haul_away;
    let mut keys: Vec<(SiteId, Sku)> = Vec::new();
    for (i, (site, sku, _)) in held.iter().enumerate() {
        if goods != Goods::Stay {
            keys.push((site.clone(), sku.clone()));
        }
        if to_returns {
            keys.push((returns.clone(), sku.clone()));
        }
        if let Some(line) = choices.get(i) {
            keys.extend(line.warehouses.iter().map(|w| (w.clone(), sku.clone())));
        }
    }
    let mut journal = Journal::open(tx, &keys).await?;
    let mut queues = Vec::new();
    let mut new_lines = Vec::new();
    let mut new_productions = Vec::new();
    for (i, (site, sku, qty)) in held.iter().enumerate() {
        let m = |site: &SiteId, kind| movement(site, sku, kind, *qty, order.id, &doc, cmd.now);
        match goods {
            Goods::Stay => {}
            Goods::Return => {
                journal.apply(m(site, MovementKind::Receipt))?;
                journal.apply(m(site, MovementKind::Reserve))?;
            }
            Goods::IssueAgain => {
                journal.apply(m(site, MovementKind::Issue))?;
            }
            Goods::ReturnUnusable => {
                journal.apply(m(&returns, MovementKind::Receipt))?;
                let line = choices.get(i).ok_or_else(|| {
                    StoreError::Backend(format!("order {} lost a line", order.id))
                })?;
                let fulfilment = match line.stock_from(|w| journal.available(w, sku)) {
                    Some(w) => {
                        journal.apply(m(&w, MovementKind::Reserve))?;
                        Fulfilment::Stock { site: w }
                    }
                    None => {
                        let option = line.production.first().ok_or_else(|| {
                            StoreError::Backend(format!("no factory makes {sku}"))
                        })?;
                        let id = tx.reserve_ids(0, 1).await?.1.pop().ok_or_else(|| {
                            StoreError::Backend("no production order id drawn".into())
                        })?;
                        let earliest = option.earliest(cmd.now);
                        new_productions.push(ProductionRow {
                            id,
                            order_id: order.id,
                            line_no: i,
                            sku: sku.clone(),
                            qty: line.qty,
                            factory: option.factory.clone(),
                            destination: option.destination.clone(),
                            region: order.region.clone(),
                            category: option.category,
                            earliest,
                            ready_date: earliest,
                            transfer_days: option.transfer_days,
                            now: cmd.now,
                        });
                        queues.push(((option.factory.clone(), option.category), id));
                        Fulfilment::Production {
                            production_order: id,
                            factory: option.factory.clone(),
                        }
                    }
                };
                new_lines.push(LineRow {
                    order_id: order.id,
                    line_no: i,
                    sku: sku.clone(),
                    qty: line.qty,
                    fulfilment,
                });
            }
        }
        if haul_away {
            journal.apply(m(&returns, MovementKind::Receipt))?;
        }
    }
    journal.write(tx).await?;
    if !new_lines.is_empty() {
        tx.replace_lines(&new_lines, &new_productions).await?;
    }
    Ok(queues)
}
