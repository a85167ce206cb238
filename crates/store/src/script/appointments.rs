//! Crews, booked visits and the plans of depot-days.
//!
//! Every write of a depot-day first locks the day's row ([`Tx::lock_day`]), so the bookings of
//! one depot-day run one after another, each decided on the plan the earlier ones left: after
//! any sequence of accepted bookings the day has a plan that keeps every one of them, because
//! each was only accepted with a place in that plan ([`crate::Decide`]).

use super::{order_of, recalled};
use crate::tx::{Fail, Remembered, Tx};
use crate::{
    BookVisit, Booked, DayState, DepotDay, Idem, Outcome, PublishDay, SetRoutes, StoreError,
    UnbookVisit, Visit,
};
use jiff::Timestamp;
use jiff::civil::Date;
use rendan_domain::SiteId;
use rendan_domain::appointment::{Appointment, PlanStatus, Reason, Refusal};
use rendan_domain::crew::{Crew, NewCrew};
use rendan_domain::order::{Order, OrderEvent};
use rendan_domain::production::ProductionStatus;
use std::collections::BTreeMap;

/// Stores a crew at a depot; a retry with `idem` answers the crew the first request created.
pub async fn create_crew(
    tx: &mut dyn Tx,
    depot: &SiteId,
    crew: &NewCrew,
    now: Timestamp,
    idem: Option<&Idem>,
) -> Result<Outcome<Crew>, Fail> {
    if let Some(seen) = recalled(tx, "create_crew", idem).await? {
        let crew = tx
            .crew(seen.ref_id)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("crew {} vanished", seen.ref_id)))?;
        return Ok(Outcome::Replayed(crew));
    }
    if tx
        .crews_of(depot)
        .await?
        .iter()
        .any(|c| c.name == crew.name)
    {
        return Err(StoreError::Exists(format!(
            "depot {depot} already has a crew named {:?}",
            crew.name
        ))
        .into());
    }
    let id = tx.insert_crew(depot, crew, now).await?;
    if let Some(idem) = idem {
        tx.remember("create_crew", idem, &Remembered::of(id), now)
            .await?;
    }
    Ok(Outcome::Created(Crew {
        id,
        depot: depot.clone(),
        name: crew.name.clone(),
        skills: crew.skills.clone(),
        truck: crew.truck,
        week: crew.week,
        days_off: crew.days_off.clone(),
    }))
}

/// The day as stored (its row locked until the transaction ends), with every visit's order.
pub async fn read_day(tx: &mut dyn Tx, depot: &SiteId, date: Date) -> Result<DepotDay, Fail> {
    let (status, version) = tx.lock_day(depot, date).await?;
    let rows = tx.day_visits(depot, date).await?;
    let ids: Vec<i64> = rows.iter().map(|(a, _)| a.order).collect();
    let visits = tx.orders(&ids).await?.iter().map(Visit::of).collect();
    Ok(assemble_day(depot, date, (status, version), rows, visits)?)
}

/// Several depot-days from their rows, appointments and orders, as any backend reads them:
/// one entry per date from `from` on, `days` of them (a date without a row is an empty draft).
pub fn assemble_days(
    depot: &SiteId,
    from: Date,
    days: u32,
    heads: Vec<(Date, (PlanStatus, i64))>,
    rows: Vec<(Appointment, usize)>,
    visits: Vec<Visit>,
) -> Result<Vec<DepotDay>, StoreError> {
    let mut by_order: BTreeMap<i64, Visit> = visits.into_iter().map(|v| (v.order, v)).collect();
    let heads: BTreeMap<Date, (PlanStatus, i64)> = heads.into_iter().collect();
    let mut out = Vec::with_capacity(days as usize);
    for d in 0..i64::from(days) {
        let date = from.saturating_add(jiff::Span::new().days(d));
        let mine: Vec<(Appointment, usize)> = rows
            .iter()
            .filter(|(a, _)| a.date == date)
            .cloned()
            .collect();
        let orders: Vec<Visit> = mine
            .iter()
            .filter_map(|(a, _)| by_order.remove(&a.order))
            .collect();
        let head = heads.get(&date).copied().unwrap_or((PlanStatus::Draft, 0));
        out.push(assemble_day(depot, date, head, mine, orders)?);
    }
    Ok(out)
}

/// A depot-day from its row (`head`: status and version), its appointments with their
/// positions, and their orders, as any backend reads them.
pub fn assemble_day(
    depot: &SiteId,
    date: Date,
    (status, version): (PlanStatus, i64),
    rows: Vec<(Appointment, usize)>,
    visits: Vec<Visit>,
) -> Result<DepotDay, StoreError> {
    let mut orders: BTreeMap<i64, Visit> = visits.into_iter().map(|v| (v.order, v)).collect();
    let mut visits = Vec::with_capacity(rows.len());
    for (appointment, position) in rows {
        let order = orders.remove(&appointment.order).ok_or_else(|| {
            StoreError::Backend(format!("order {} of a visit vanished", appointment.order))
        })?;
        visits.push(Booked {
            appointment,
            position,
            visit: order,
        });
    }
    Ok(DepotDay {
        depot: depot.clone(),
        date,
        status,
        version,
        visits,
    })
}

fn rows_of(day: &DepotDay) -> Vec<(Appointment, usize)> {
    day.visits
        .iter()
        .map(|b| (b.appointment.clone(), b.position))
        .collect()
}

/// Books a visit: the order must be bookable, the day a draft, and the decision must find it
/// a place in the day's plan that keeps every visit already booked; the visit is then written
/// at that place (the later stops of that crew's route move one position on), the order is
/// scheduled, and the day's version grows. A retry with the command's key answers the same
/// appointment.
pub async fn book_visit(tx: &mut dyn Tx, cmd: &BookVisit) -> Result<Outcome<Appointment>, Fail> {
    if let Some(seen) = recalled(tx, "book_visit", cmd.idem.as_ref()).await? {
        let (appointment, _) = tx.appointment_of(seen.ref_id).await?.ok_or_else(|| {
            StoreError::Refused(Refusal::new(
                Reason::State,
                "the appointment this key booked was cancelled since",
            ))
        })?;
        return Ok(Outcome::Replayed(appointment));
    }
    // The day first: whoever books this day waits here until the booking before is committed.
    // Then the order, so that two bookings of one order on two days, or a booking and a
    // cancellation, never both decide on the same state (every script takes a day before an
    // order, so none waits for the other in a circle).
    let day = read_day(tx, &cmd.depot, cmd.date).await?;
    tx.lock_orders(&[cmd.order]).await?;
    let order = tx
        .orders(&[cmd.order])
        .await?
        .pop()
        .filter(|o| cmd.visibility.admits(&o.region, o.created_by))
        .ok_or_else(|| StoreError::NotFound(format!("order {}", cmd.order)))?;
    let next = order.status.apply(OrderEvent::Book).map_err(|e| {
        StoreError::Refused(Refusal::new(
            Reason::State,
            format!(
                "order {} is {}; it cannot be booked",
                order.id,
                e.current.as_str()
            ),
        ))
    })?;
    if day.status == PlanStatus::Published {
        return Err(StoreError::Refused(Refusal::new(
            Reason::Published,
            format!("the plan of {} at {} is published", cmd.date, cmd.depot),
        ))
        .into());
    }
    let productions = tx.productions_of(&[order.id]).await?;
    let crews = tx.crews_of(&cmd.depot).await?;
    let state = DayState { crews, day };
    let (crew, position) = cmd
        .decide
        .place(&state, &order, &productions, cmd.window)
        .map_err(StoreError::Refused)?;
    let mut rows = rows_of(&state.day);
    for (a, p) in rows.iter_mut() {
        if a.crew == crew && *p >= position {
            *p += 1;
        }
    }
    let appointment = Appointment {
        order: order.id,
        depot: cmd.depot.clone(),
        date: cmd.date,
        window: cmd.window,
        crew,
    };
    rows.push((appointment.clone(), position));
    tx.write_visits(&cmd.depot, cmd.date, &rows, cmd.now)
        .await?;
    tx.set_day(
        &cmd.depot,
        cmd.date,
        PlanStatus::Draft,
        state.day.version + 1,
    )
    .await?;
    super::set_status(tx, order.id, next, cmd.now).await?;
    if let Some(idem) = &cmd.idem {
        tx.remember("book_visit", idem, &Remembered::of(order.id), cmd.now)
            .await?;
    }
    Ok(Outcome::Created(appointment))
}

/// Locks an order's row, and before it the row of the day its visit is booked on, if any:
/// scripts take a day before an order, so that two lone transactions never wait for each other
/// in a circle.
pub(super) async fn lock_with_its_day(tx: &mut dyn Tx, order: i64) -> Result<(), Fail> {
    let day_of = |a: Option<(Appointment, usize)>| a.map(|(a, _)| (a.depot, a.date));
    let seen = day_of(tx.appointment_of(order).await?);
    if let Some((depot, date)) = &seen {
        tx.lock_day(depot, *date).await?;
    }
    tx.lock_orders(&[order]).await?;
    // A booking committed between the first read and the order's lock put the visit on a day
    // not locked here: start again (the rollback to the script's savepoint releases these
    // locks), so that the day is still taken before the order.
    if day_of(tx.appointment_of(order).await?) != seen {
        return Err(Fail::Retry(format!(
            "order {order}'s visit moved while it was being locked"
        )));
    }
    Ok(())
}

/// Removes an order's visit from its day's plan (the later stops of its crew move up) and
/// gives the order back its state without an appointment. Used by unbooking and by cancelling
/// the order.
pub(super) async fn release_visit(
    tx: &mut dyn Tx,
    appointment: &Appointment,
    now: Timestamp,
) -> Result<(), Fail> {
    let day = read_day(tx, &appointment.depot, appointment.date).await?;
    let mut rows = rows_of(&day);
    let Some(at) = rows.iter().position(|(a, _)| a.order == appointment.order) else {
        return Ok(());
    };
    let (gone, position) = rows.remove(at);
    for (a, p) in rows.iter_mut() {
        if a.crew == gone.crew && *p > position {
            *p -= 1;
        }
    }
    tx.write_visits(&appointment.depot, appointment.date, &rows, now)
        .await?;
    tx.set_day(
        &appointment.depot,
        appointment.date,
        day.status,
        day.version + 1,
    )
    .await
}

/// Cancels a booked visit of a draft day: the capacity is free again and the order goes back
/// to `ready` (or `in_production` while production is open). A retry with the command's key
/// answers the same order.
pub async fn unbook_visit(tx: &mut dyn Tx, cmd: &UnbookVisit) -> Result<Outcome<Order>, Fail> {
    if let Some(seen) = recalled(tx, "unbook_visit", cmd.idem.as_ref()).await? {
        return Ok(Outcome::Replayed(order_of(tx, seen.ref_id).await?));
    }
    lock_with_its_day(tx, cmd.order).await?;
    let order = tx
        .orders(&[cmd.order])
        .await?
        .pop()
        .filter(|o| cmd.visibility.admits(&o.region, o.created_by))
        .ok_or_else(|| StoreError::NotFound(format!("order {}", cmd.order)))?;
    let (appointment, _) = tx
        .appointment_of(order.id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("an appointment of order {}", order.id)))?;
    let (status, _) = tx.lock_day(&appointment.depot, appointment.date).await?;
    if status == PlanStatus::Published {
        return Err(StoreError::Refused(Refusal::new(
            Reason::Published,
            format!(
                "the plan of {} at {} is published",
                appointment.date, appointment.depot
            ),
        ))
        .into());
    }
    let all_ready = !tx
        .productions_of(&[order.id])
        .await?
        .iter()
        .any(|p| p.status == ProductionStatus::Open);
    let next = order.status.apply(OrderEvent::Unbook { all_ready })?;
    release_visit(tx, &appointment, cmd.now).await?;
    super::set_status(tx, order.id, next, cmd.now).await?;
    if let Some(idem) = &cmd.idem {
        tx.remember("unbook_visit", idem, &Remembered::of(order.id), cmd.now)
            .await?;
    }
    Ok(Outcome::Created(order_of(tx, order.id).await?))
}

/// Replaces a draft day's plan with `cmd.routes`, which must hold exactly the day's booked
/// visits, each once, on crews of the depot; refused when the day changed since the plan was
/// computed (its version moved) or was published. Without routes the plan stays as it is and
/// only the request's key is recorded. A retry with the command's key answers the day as it
/// now is and changes nothing.
pub async fn set_routes(tx: &mut dyn Tx, cmd: &SetRoutes) -> Result<Outcome<DepotDay>, Fail> {
    if recalled(tx, "optimise_plan", cmd.idem.as_ref())
        .await?
        .is_some()
    {
        return Ok(Outcome::Replayed(read_day(tx, &cmd.depot, cmd.date).await?));
    }
    let day = read_day(tx, &cmd.depot, cmd.date).await?;
    if day.status == PlanStatus::Published {
        return Err(StoreError::Refused(Refusal::new(
            Reason::Published,
            format!("the plan of {} at {} is published", cmd.date, cmd.depot),
        ))
        .into());
    }
    let Some(routes) = &cmd.routes else {
        remember_key(tx, "optimise_plan", cmd.idem.as_ref(), cmd.now).await?;
        return Ok(Outcome::Created(day));
    };
    if day.version != cmd.version {
        return Err(StoreError::Stale(format!(
            "the day changed while its plan was computed (version {} is now {})",
            cmd.version, day.version
        ))
        .into());
    }
    let crews: Vec<i64> = tx
        .crews_of(&cmd.depot)
        .await?
        .iter()
        .map(|c| c.id)
        .collect();
    let mut by_order: BTreeMap<i64, Appointment> = day
        .visits
        .iter()
        .map(|b| (b.appointment.order, b.appointment.clone()))
        .collect();
    let mut rows = Vec::with_capacity(by_order.len());
    for (crew, orders) in routes {
        if !crews.contains(crew) {
            return Err(StoreError::Backend(format!("crew {crew} is not at {}", cmd.depot)).into());
        }
        for (position, order) in orders.iter().enumerate() {
            let mut a = by_order.remove(order).ok_or_else(|| {
                StoreError::Backend(format!("order {order} is not booked on that day, or twice"))
            })?;
            a.crew = *crew;
            rows.push((a, position));
        }
    }
    if let Some(order) = by_order.keys().next() {
        return Err(StoreError::Backend(format!("the new plan leaves out order {order}")).into());
    }
    tx.write_visits(&cmd.depot, cmd.date, &rows, cmd.now)
        .await?;
    tx.set_day(&cmd.depot, cmd.date, PlanStatus::Draft, day.version + 1)
        .await?;
    remember_key(tx, "optimise_plan", cmd.idem.as_ref(), cmd.now).await?;
    Ok(Outcome::Created(read_day(tx, &cmd.depot, cmd.date).await?))
}

/// Publishes a day's plan: it takes no more bookings; when the day has begun at the depot,
/// its orders go out for delivery at once. Publishing again changes nothing; a retry with the
/// command's key answers the day as it now is.
pub async fn publish_day(tx: &mut dyn Tx, cmd: &PublishDay) -> Result<Outcome<DepotDay>, Fail> {
    if recalled(tx, "publish_plan", cmd.idem.as_ref())
        .await?
        .is_some()
    {
        return Ok(Outcome::Replayed(read_day(tx, &cmd.depot, cmd.date).await?));
    }
    remember_key(tx, "publish_plan", cmd.idem.as_ref(), cmd.now).await?;
    let day = read_day(tx, &cmd.depot, cmd.date).await?;
    if day.status == PlanStatus::Draft {
        tx.set_day(&cmd.depot, cmd.date, PlanStatus::Published, day.version + 1)
            .await?;
    }
    if cmd.date <= cmd.today {
        // The day is locked, then its orders, as every script takes them.
        let ids: Vec<i64> = day.visits.iter().map(|v| v.visit.order).collect();
        tx.lock_orders(&ids).await?;
        let day = read_day(tx, &cmd.depot, cmd.date).await?;
        super::stops::dispatch(tx, &day, cmd.date, cmd.now).await?;
    }
    Ok(Outcome::Created(read_day(tx, &cmd.depot, cmd.date).await?))
}

/// Whether `idem` was used for `operation` before (an error when for another request).
pub async fn seen_key(tx: &mut dyn Tx, operation: &str, idem: &Idem) -> Result<bool, Fail> {
    Ok(recalled(tx, operation, Some(idem)).await?.is_some())
}

/// Records that `idem` was used for `operation`, whose answer is read again on a retry.
async fn remember_key(
    tx: &mut dyn Tx,
    operation: &str,
    idem: Option<&Idem>,
    now: Timestamp,
) -> Result<(), Fail> {
    match idem {
        Some(idem) => tx.remember(operation, idem, &Remembered::of(0), now).await,
        None => Ok(()),
    }
}
