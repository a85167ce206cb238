//! Order intake, many orders per transaction.
//!
//! Concurrent requests are gathered ([`crate::batch`]) and placed by one run of
//! [`place_orders`], which reads everything the whole batch rests on in a handful of
//! statements, lets [`allocate`] decide the orders one after another against one snapshot (so
//! each sees what the earlier ones reserved and which capacity they took, exactly as if they
//! had come one by one), and writes the batch back in a handful more. The number of round
//! trips to the database is thus per batch, not per order: on a shared server, where a hot
//! balance row stays locked from its first read to the commit, that is what lets one row serve
//! thousands of orders a second.

use super::order_of;
use super::stock::Journal;
use crate::tx::{
    CapacityRow, Fail, LineRow, MovementRow, OrderLookup, OrderRow, Placement, ProductionRow,
    PromiseRow,
};
use crate::tx::{Read, Tx};
use crate::{Outcome, PlaceOrder, Placed, StoreError};
use jiff::civil::Date;
use rendan_domain::catalogue::Sku;
use rendan_domain::fulfilment::{AllocateError, Allocation, LineChoice, Queue, Snapshot, allocate};
use rendan_domain::idempotency::judge;
use rendan_domain::order::{
    Channel, Fulfilment, Order, OrderLine, PromiseChange, PromiseReason, check_reference,
};
use rendan_domain::stock::MovementKind;
use rendan_domain::{Invalid, SiteId};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Places every command of the batch, answering each in the order given: created, a replay
/// of the order its key made before, or the reason it is refused (other body for the key,
/// the channel's reference already used, no capacity). A command whose key or reference an
/// earlier command of the same batch uses is decided after that one is written, so it sees
/// it exactly as a later request would.
pub async fn place_orders(
    tx: &mut dyn Tx,
    cmds: &[PlaceOrder],
) -> Result<Vec<Result<Placed, StoreError>>, Fail> {
    let mut answers: Vec<Option<Result<Placed, StoreError>>> = vec![None; cmds.len()];
    let mut pending: Vec<usize> = (0..cmds.len()).collect();
    while !pending.is_empty() {
        pending = round(tx, cmds, &pending, &mut answers).await?;
    }
    Ok(answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| Err(StoreError::Backend("an order was not decided".into()))))
        .collect())
}

/// Places the commands `idx` whose keys and references do not collide; answers the indices
/// left for the next round.
async fn round(
    tx: &mut dyn Tx,
    cmds: &[PlaceOrder],
    idx: &[usize],
    answers: &mut [Option<Result<Placed, StoreError>>],
) -> Result<Vec<usize>, Fail> {
    let lookups: Vec<OrderLookup> = idx
        .iter()
        .map(|&i| OrderLookup {
            principal: cmds[i].idem.principal,
            key: cmds[i].idem.key.clone(),
            channel: cmds[i].order.channel,
            external_ref: cmds[i].order.external_ref.clone(),
        })
        .collect();
    let found = tx.find_orders(&lookups).await?;
    let mut keys: HashSet<(i64, &str)> = HashSet::new();
    let mut refs: HashSet<(i64, Channel, &str)> = HashSet::new();
    let mut fresh = Vec::new();
    let mut later = Vec::new();
    for (&i, found) in idx.iter().zip(found) {
        let cmd = &cmds[i];
        let principal = cmd.idem.principal;
        match found {
            Some(f) if f.same_key => {
                answers[i] = Some(match judge(&f.request_hash, &cmd.idem.fingerprint) {
                    Ok(()) => Ok(Placed::Replayed(order_of(tx, f.id).await?)),
                    Err(_) => Err(StoreError::IdempotencyMismatch),
                });
            }
            Some(f) => {
                answers[i] = Some(match check_reference(&cmd.order, Some(f.id)) {
                    Err(e) => Err(e.into()),
                    Ok(()) => Err(StoreError::Backend("a reference check passed twice".into())),
                });
            }
            None => {
                let key = (principal, cmd.idem.key.as_str());
                let reference = (
                    principal,
                    cmd.order.channel,
                    cmd.order.external_ref.as_str(),
                );
                if keys.contains(&key) || refs.contains(&reference) {
                    later.push(i);
                } else {
                    keys.insert(key);
                    refs.insert(reference);
                    fresh.push(i);
                }
            }
        }
    }
    if !fresh.is_empty() {
        // Ids first, before anything is locked: the locked part of the transaction is then
        // the decision and one write.
        let lines: usize = fresh.iter().map(|&i| cmds[i].options.lines.len()).sum();
        let ids = tx.reserve_ids(fresh.len(), lines).await?;
        let decided = decide(tx, cmds, &fresh).await?;
        write(tx, cmds, &fresh, decided, ids, answers).await?;
    }
    Ok(later)
}

/// Decides the commands `fresh` in order, on balances and queues that are locked (on a
/// backend with several writers) before the decision stands.
///
/// Balances and bookings are first read without locks and the domain decides; the rows and
/// queues the decisions draw on are then locked and read again, and the batch is decided
/// again on the fresh values, until everything a decision draws on is locked. Rows a
/// decision does not draw on are never locked, so orders made to order do not queue behind
/// reservations on a warehouse's busy row, and a reservation is always made on a locked,
/// current balance.
async fn decide(
    tx: &mut dyn Tx,
    cmds: &[PlaceOrder],
    fresh: &[usize],
) -> Result<Vec<Result<Allocation, AllocateError>>, Fail> {
    let mut keys: Vec<(SiteId, Sku)> = Vec::new();
    let mut queues: BTreeMap<Queue, Date> = BTreeMap::new();
    for &i in fresh {
        keys.extend(cmds[i].options.stock_keys());
        for (q, from) in cmds[i].options.queues(cmds[i].now) {
            let d = queues.entry(q).or_insert(from);
            *d = (*d).min(from);
        }
    }
    keys.sort();
    keys.dedup();
    let serial = tx.serial();
    let first = if serial { Read::Lock } else { Read::Peek };
    let mut snapshot = Snapshot {
        balances: tx.balances(&keys, first).await?.into_iter().collect(),
        booked: if queues.is_empty() {
            Default::default()
        } else {
            let reads: Vec<(Queue, Date)> = queues.iter().map(|(q, d)| (q.clone(), *d)).collect();
            tx.booked(&reads).await?
        },
    };
    let mut locked_rows: BTreeSet<(SiteId, Sku)> = BTreeSet::new();
    let mut locked_queues: BTreeSet<Queue> = BTreeSet::new();
    if serial {
        locked_rows.extend(keys);
        locked_queues.extend(queues.keys().cloned());
    }
    loop {
        let mut work = snapshot.clone();
        let decided: Vec<Result<Allocation, AllocateError>> = fresh
            .iter()
            .map(|&i| {
                let c = &cmds[i];
                allocate(&c.options, &c.rules, c.now, &mut work)
            })
            .collect();
        let mut rows: BTreeSet<(SiteId, Sku)> = BTreeSet::new();
        let mut used: BTreeSet<Queue> = BTreeSet::new();
        for (&i, a) in fresh.iter().zip(&decided) {
            let Ok(a) = a else { continue };
            for (line, opts) in a.lines.iter().zip(&cmds[i].options.lines) {
                match &line.choice {
                    LineChoice::Stock(site) => {
                        rows.insert((site.clone(), opts.sku.clone()));
                    }
                    LineChoice::Production(p) if p.per_day.is_some() => {
                        used.insert((p.factory.clone(), p.category));
                    }
                    LineChoice::Production(_) => {}
                }
            }
        }
        let new_rows: Vec<(SiteId, Sku)> = rows.difference(&locked_rows).cloned().collect();
        let new_queues: Vec<Queue> = used.difference(&locked_queues).cloned().collect();
        if new_rows.is_empty() && new_queues.is_empty() {
            return Ok(decided);
        }
        // Queues before balances, each in key order: one lock order for every transaction.
        if !new_queues.is_empty() {
            tx.lock_queues(&new_queues).await?;
            let reads: Vec<(Queue, Date)> =
                new_queues.iter().map(|q| (q.clone(), queues[q])).collect();
            let fresh_booked = tx.booked(&reads).await?;
            snapshot
                .booked
                .retain(|(f, c, _), _| !new_queues.iter().any(|q| &q.0 == f && q.1 == *c));
            snapshot.booked.extend(fresh_booked);
            locked_queues.extend(new_queues);
        }
        if !new_rows.is_empty() {
            for k in &new_rows {
                snapshot.balances.remove(k);
            }
            snapshot
                .balances
                .extend(tx.balances(&new_rows, Read::Lock).await?);
            locked_rows.extend(new_rows);
        }
    }
}

/// Writes the decided orders of the batch, with the ids drawn for it, and records each
/// command's answer.
async fn write(
    tx: &mut dyn Tx,
    cmds: &[PlaceOrder],
    fresh: &[usize],
    decided: Vec<Result<Allocation, AllocateError>>,
    (order_ids, production_ids): (Vec<i64>, Vec<i64>),
    answers: &mut [Option<Result<Placed, StoreError>>],
) -> Result<(), Fail> {
    if order_ids.len() < fresh.len() {
        return Err(StoreError::Backend("fewer order ids than orders".into()).into());
    }
    let mut placed: Vec<(usize, i64, Allocation)> = Vec::new();
    for ((&i, a), &id) in fresh.iter().zip(decided).zip(&order_ids) {
        match a {
            Ok(a) => placed.push((i, id, a)),
            Err(AllocateError::Stock(e)) => answers[i] = Some(Err(e.into())),
            Err(AllocateError::NoCapacity { line }) => {
                answers[i] = Some(Err(Invalid::new(
                    format!("lines[{line}].sku"),
                    "no factory has capacity to make it",
                )
                .into()));
            }
        }
    }
    if placed.is_empty() {
        return Ok(());
    }
    let mut balances = std::collections::HashMap::new();
    for (i, _, a) in &placed {
        for (line, opts) in a.lines.iter().zip(&cmds[*i].options.lines) {
            if let (LineChoice::Stock(site), Some(prior)) = (&line.choice, line.prior) {
                balances
                    .entry((site.clone(), opts.sku.clone()))
                    .or_insert(prior);
            }
        }
    }
    let mut journal = Journal::over(balances);
    let mut out = Placement::default();
    let mut next_production = production_ids.iter();
    for (i, order_id, a) in &placed {
        let (c, order_id) = (&cmds[*i], *order_id);
        out.orders.push(OrderRow {
            id: order_id,
            principal: c.idem.principal,
            token_id: c.token_id,
            key: c.idem.key.clone(),
            request_hash: c.idem.fingerprint.clone(),
            status: a.status,
            channel: c.order.channel,
            external_ref: c.order.external_ref.clone(),
            customer: c.order.customer.clone(),
            site_access: c.order.site_access,
            region: c.options.region.clone(),
            now: c.now,
            accepted_on: a.accepted_on,
            promised: a.promised,
        });
        let document = format!("order {order_id}");
        let mut order_lines = Vec::with_capacity(a.lines.len());
        for (line_no, (line, opts)) in a.lines.iter().zip(&c.options.lines).enumerate() {
            let fulfilment = match (&line.choice, &line.planned) {
                (LineChoice::Stock(site), _) => {
                    journal.apply(MovementRow {
                        site: site.clone(),
                        sku: opts.sku.clone(),
                        kind: MovementKind::Reserve,
                        qty: i64::from(opts.qty),
                        order: Some(order_id),
                        document: document.clone(),
                        at: c.now,
                    })?;
                    Fulfilment::Stock { site: site.clone() }
                }
                (LineChoice::Production(p), Some(planned)) => {
                    let &po = next_production.next().ok_or_else(|| {
                        StoreError::Backend("fewer production ids than production lines".into())
                    })?;
                    out.productions.push(ProductionRow {
                        id: po,
                        order_id,
                        line_no,
                        sku: opts.sku.clone(),
                        qty: opts.qty,
                        factory: p.factory.clone(),
                        destination: p.destination.clone(),
                        region: c.options.region.clone(),
                        category: p.category,
                        earliest: planned.earliest,
                        ready_date: planned.finish,
                        transfer_days: p.transfer_days,
                        now: c.now,
                    });
                    out.capacity
                        .extend(planned.days.iter().map(|&(day, units)| CapacityRow {
                            production_order: po,
                            factory: p.factory.clone(),
                            category: p.category,
                            day,
                            units,
                        }));
                    Fulfilment::Production {
                        production_order: po,
                        factory: p.factory.clone(),
                    }
                }
                (LineChoice::Production(_), None) => {
                    return Err(
                        StoreError::Backend("a production line without its plan".into()).into(),
                    );
                }
            };
            out.lines.push(LineRow {
                order_id,
                line_no,
                sku: opts.sku.clone(),
                qty: opts.qty,
                fulfilment: fulfilment.clone(),
            });
            order_lines.push(OrderLine {
                sku: opts.sku.clone(),
                qty: opts.qty,
                fulfilment,
            });
        }
        out.promises.push(PromiseRow {
            order_id,
            date: a.promised,
            at: c.now,
            reason: PromiseReason::Accepted,
        });
        answers[*i] = Some(Ok(Outcome::Created(Order {
            id: order_id,
            status: a.status,
            channel: c.order.channel,
            external_ref: c.order.external_ref.clone(),
            customer: c.order.customer.clone(),
            region: c.options.region.clone(),
            created_by: c.idem.principal,
            created_at: c.now,
            promised_date: a.promised,
            accepted_on: a.accepted_on,
            promises: vec![PromiseChange {
                date: a.promised,
                at: c.now,
                reason: PromiseReason::Accepted,
            }],
            site_access: c.order.site_access,
            lines: order_lines,
        })));
    }
    (out.balances, out.movements) = journal.into_parts();
    // A new order's first status is a change its channel is told of too: `write_placed`
    // writes the outbox rows with the orders.
    tx.write_placed(&out).await
}
