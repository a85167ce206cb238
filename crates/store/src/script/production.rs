//! Completing production, and planning a factory's queue again when it changes.

use super::stock::Journal;
use super::{order_of, recalled};
use crate::tx::{CapacityRow, Fail, MovementRow, PromiseRow, Remembered, Tx};
use crate::{CompleteProduction, Outcome, Planning, ProductionOrder, StoreError};
use jiff::Timestamp;
use rendan_domain::fulfilment::{Progress, Queue, repromise, site_zone};
use rendan_domain::order::{OrderStatus, PromiseReason};
use rendan_domain::production::{ProductionEvent, ProductionStatus, order_after_completion};
use rendan_domain::schedule::{self, Job};
use rendan_domain::stock::MovementKind;
use std::collections::BTreeSet;

/// Completes a production order: the goods are received into the destination and reserved
/// for the order, the production order closes, the order becomes ready when none of its
/// production orders stays open, and the factory's queue is planned again from today, which
/// re-promises this order and every order whose production moved. A retry with the command's
/// key answers what the first completion produced.
pub async fn complete_production(
    tx: &mut dyn Tx,
    cmd: &CompleteProduction,
) -> Result<Outcome<(ProductionOrder, rendan_domain::order::Order)>, Fail> {
    if let Some(seen) = recalled(tx, "complete_production", cmd.idem.as_ref()).await? {
        let po = tx.production(seen.ref_id).await?.ok_or_else(|| {
            StoreError::Backend(format!("production order {} vanished", seen.ref_id))
        })?;
        let order = order_of(tx, po.order_id).await?;
        return Ok(Outcome::Replayed((po, order)));
    }
    let id = cmd.id;
    let found = |po: Option<ProductionOrder>| {
        po.filter(|p| cmd.region.as_ref().is_none_or(|r| r == &p.region))
            .ok_or_else(|| StoreError::NotFound(format!("production order {id}")))
    };
    // Its order's row is the lock a completion and a cancellation of that order share; the
    // production order is read again once it is held, so its status is current.
    let order_id = found(tx.production(id).await?)?.order_id;
    tx.lock_orders(&[order_id]).await?;
    let mut po = found(tx.production(id).await?)?;
    let next =
        po.status
            .apply(ProductionEvent::Complete)
            .map_err(|e| StoreError::ProductionClosed {
                id,
                status: e.current,
            })?;
    let qty = i64::from(po.qty);
    let doc = format!("production order {id}");
    let mut journal = Journal::open(tx, &[(po.destination.clone(), po.sku.clone())]).await?;
    for kind in [MovementKind::Receipt, MovementKind::Reserve] {
        journal.apply(MovementRow {
            site: po.destination.clone(),
            sku: po.sku.clone(),
            kind,
            qty,
            order: Some(po.order_id),
            document: doc.clone(),
            at: cmd.now,
        })?;
    }
    journal.write(tx).await?;
    tx.close_production(id, next, cmd.now).await?;
    po.status = next;
    po.closed_at = Some(cmd.now);

    let order = order_of(tx, po.order_id).await?;
    let still_open = tx
        .productions_of(&[order.id])
        .await?
        .iter()
        .filter(|p| p.status == ProductionStatus::Open)
        .count();
    if let Some(status) = order_after_completion(order.status, still_open)? {
        super::set_status(tx, order.id, status, cmd.now).await?;
    }
    let queue = (po.factory.clone(), po.category);
    replan(tx, &cmd.planning, &[queue], cmd.now, id, [order.id]).await?;
    let order = order_of(tx, po.order_id).await?;
    if let Some(idem) = &cmd.idem {
        tx.remember("complete_production", idem, &Remembered::of(id), cmd.now)
            .await?;
    }
    Ok(Outcome::Created((po, order)))
}

/// Plans the open production orders of `queues` again from today at each factory
/// ([`schedule::replan`]), stores their new days and ready dates, and re-promises
/// ([`repromise`]) the orders whose production moved and the orders `also`. `cause` is the
/// production order whose completion or cancellation made the change; it is named in the
/// promise history.
pub(super) async fn replan(
    tx: &mut dyn Tx,
    planning: &Planning,
    queues: &[Queue],
    now: Timestamp,
    cause: i64,
    also: impl IntoIterator<Item = i64>,
) -> Result<(), Fail> {
    let topology = &planning.topology;
    let capacities = topology.capacities();
    let mut orders: BTreeSet<i64> = also.into_iter().collect();
    let mut queues: Vec<Queue> = queues
        .iter()
        .filter(|(f, c)| capacities.per_day(f, *c).is_some())
        .cloned()
        .collect();
    queues.sort();
    queues.dedup();
    if !queues.is_empty() {
        tx.lock_queues(&queues).await?;
    }
    for queue in &queues {
        let open = tx.queue(queue).await?;
        if open.is_empty() {
            continue;
        }
        let today = now.to_zoned(site_zone(topology, &queue.0)).date();
        let jobs: Vec<Job<usize>> = open.iter().enumerate().map(|(k, p)| p.job(k)).collect();
        let slots = schedule::replan(capacities, &jobs, today)
            .map_err(|e| StoreError::Backend(format!("the queue cannot be planned again: {e}")))?;
        let mut moved = Vec::new();
        let mut rows = Vec::new();
        for slot in &slots {
            let p = &open[slot.key];
            // Nothing of it can be finished before today any more: that is its earliest day
            // from now on, so that the queue stays exactly what `plan` makes of it.
            let earliest = p.earliest.max(today);
            if slot.finish != p.ready_date || earliest != p.earliest {
                moved.push((p.id, earliest, slot.finish));
            }
            if slot.finish != p.ready_date {
                orders.insert(p.order_id);
            }
            rows.extend(slot.days.iter().map(|&(day, units)| CapacityRow {
                production_order: p.id,
                factory: p.factory.clone(),
                category: p.category,
                day,
                units,
            }));
        }
        let ids: Vec<i64> = open.iter().map(|p| p.id).collect();
        tx.set_capacity(&ids, &rows).await?;
        if !moved.is_empty() {
            tx.set_schedule(&moved).await?;
        }
    }
    promise_again(tx, planning, orders, now, cause).await
}

/// Gives each of `orders` still waiting for its goods the promise its production orders now
/// allow, recording it in the order's history when it changes.
async fn promise_again(
    tx: &mut dyn Tx,
    planning: &Planning,
    orders: BTreeSet<i64>,
    now: Timestamp,
    cause: i64,
) -> Result<(), Fail> {
    if orders.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = orders.into_iter().collect();
    let heads = tx.orders(&ids).await?;
    let productions = tx.productions_of(&ids).await?;
    let mut rows = Vec::new();
    for order in heads {
        if !matches!(order.status, OrderStatus::InProduction | OrderStatus::Ready) {
            continue;
        }
        let progress: Vec<Progress> = productions
            .iter()
            .filter(|p| p.order_id == order.id)
            .map(|p| match (p.status, p.closed_at) {
                (ProductionStatus::Open, _) => Progress::Open {
                    finish: p.ready_date,
                    transfer_days: p.transfer_days,
                },
                (ProductionStatus::Completed, Some(at)) => Progress::Completed {
                    on: at
                        .to_zoned(site_zone(&planning.topology, &p.destination))
                        .date(),
                },
                (ProductionStatus::Completed, None) => Progress::Completed {
                    on: order.accepted_on,
                },
                (ProductionStatus::Cancelled, _) => Progress::Cancelled,
            })
            .collect();
        let date = repromise(order.accepted_on, &planning.rules, &progress);
        if date != order.promised_date {
            rows.push(PromiseRow {
                order_id: order.id,
                date,
                at: now,
                reason: PromiseReason::Replanned {
                    production_order: cause,
                },
            });
        }
    }
    if !rows.is_empty() {
        tx.change_promises(&rows).await?;
    }
    Ok(())
}
