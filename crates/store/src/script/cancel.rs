//! Cancelling an order.

use super::appointments::{lock_with_its_day, release_visit};
use super::production::replan;
use super::stock::Journal;
use super::{order_of, recalled};
use crate::tx::{Fail, MovementRow, Remembered, Tx};
use crate::{CancelOrder, Outcome, StoreError};
use rendan_domain::fulfilment::Queue;
use rendan_domain::order::{Fulfilment, Order, OrderEvent};
use rendan_domain::production::{CancelStep, ProductionEvent, on_order_cancel};
use rendan_domain::stock::MovementKind;

/// Cancels an order the caller may see: its reservations are released, its open production
/// orders cancelled (and the queues they leave planned again, which may move the orders
/// behind them forward), goods already made for it released, all in one transaction. A
/// retry with the command's key answers the same order.
pub async fn cancel_order(tx: &mut dyn Tx, cmd: &CancelOrder) -> Result<Outcome<Order>, Fail> {
    if let Some(seen) = recalled(tx, "cancel_order", cmd.idem.as_ref()).await? {
        return Ok(Outcome::Replayed(order_of(tx, seen.ref_id).await?));
    }
    let id = cmd.id;
    lock_with_its_day(tx, id).await?;
    let mut order = tx
        .orders(&[id])
        .await?
        .pop()
        .filter(|o| cmd.visibility.admits(&o.region, o.created_by))
        .ok_or_else(|| StoreError::NotFound(format!("order {id}")))?;
    let next = order.status.apply(OrderEvent::Cancel)?;
    // A booked visit goes with the order: its capacity is free again.
    if let Some((appointment, _)) = tx.appointment_of(id).await? {
        release_visit(tx, &appointment, cmd.now).await?;
    }
    let productions = tx.productions_of(&[id]).await?;
    let mut steps = Vec::new();
    let mut keys = Vec::new();
    for line in &order.lines {
        match &line.fulfilment {
            Fulfilment::Stock { site } => keys.push((site.clone(), line.sku.clone())),
            Fulfilment::Production {
                production_order, ..
            } => {
                let po = productions
                    .iter()
                    .find(|p| p.id == *production_order)
                    .ok_or_else(|| {
                        StoreError::Backend(format!("production order {production_order} vanished"))
                    })?;
                let step = on_order_cancel(po.status);
                if step == CancelStep::ReleaseGoods {
                    keys.push((po.destination.clone(), po.sku.clone()));
                }
                steps.push((po, step));
            }
        }
    }
    let doc = format!("cancel order {id}");
    let mut journal = Journal::open(tx, &keys).await?;
    for line in &order.lines {
        if let Fulfilment::Stock { site } = &line.fulfilment {
            journal.apply(MovementRow {
                site: site.clone(),
                sku: line.sku.clone(),
                kind: MovementKind::Release,
                qty: i64::from(line.qty),
                order: Some(id),
                document: doc.clone(),
                at: cmd.now,
            })?;
        }
    }
    let mut freed: Vec<(Queue, i64)> = Vec::new();
    for (po, step) in steps {
        match step {
            CancelStep::Cancel => {
                let closed = po.status.apply(ProductionEvent::Cancel).map_err(|e| {
                    StoreError::ProductionClosed {
                        id: po.id,
                        status: e.current,
                    }
                })?;
                tx.close_production(po.id, closed, cmd.now).await?;
                freed.push(((po.factory.clone(), po.category), po.id));
            }
            CancelStep::ReleaseGoods => {
                journal.apply(MovementRow {
                    site: po.destination.clone(),
                    sku: po.sku.clone(),
                    kind: MovementKind::Release,
                    qty: i64::from(po.qty),
                    order: Some(id),
                    document: doc.clone(),
                    at: cmd.now,
                })?;
            }
            CancelStep::Nothing => {}
        }
    }
    journal.write(tx).await?;
    super::set_status(tx, id, next, cmd.now).await?;
    order.status = next;
    if let Some(&(_, cause)) = freed.first() {
        let queues: Vec<Queue> = freed.into_iter().map(|(q, _)| q).collect();
        replan(tx, &cmd.planning, &queues, cmd.now, cause, []).await?;
    }
    if let Some(idem) = &cmd.idem {
        tx.remember("cancel_order", idem, &Remembered::of(order.id), cmd.now)
            .await?;
    }
    Ok(Outcome::Created(order))
}
