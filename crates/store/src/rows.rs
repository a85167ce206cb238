//! Stored rows to domain values, for every backend: a backend says how to read one column
//! ([`Columns`]), this module says what the columns mean. A stored value that breaks a domain
//! rule is a backend error, never a panic.

use crate::{ProductionOrder, ProductionStatus, StoreError};
use jiff::Timestamp;
use jiff::civil::Date;
use rendan_domain::catalogue::{Category, Sku};
use rendan_domain::order::{
    Channel, Customer, Fulfilment, Order, OrderLine, OrderStatus, PromiseChange, PromiseReason,
};
use rendan_domain::{Invalid, LatLon, Region, SiteId};

/// One stored row, read column by column in the backend's own types.
pub trait Columns {
    /// A text column.
    fn text(&self, col: &str) -> Result<String, StoreError>;
    /// A nullable text column.
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    /// A 64-bit integer column.
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    /// A nullable 64-bit integer column.
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;
    /// A double-precision column.
    fn real(&self, col: &str) -> Result<f64, StoreError>;
}

/// A stored value that a domain rule refuses.
pub fn corrupt(e: Invalid) -> StoreError {
    StoreError::Backend(format!("stored value breaks a rule: {e}"))
}

/// How instants are stored: microseconds since the Unix epoch.
pub fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// A stored instant.
pub fn timestamp(v: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(v)
        .map_err(|e| StoreError::Backend(format!("bad timestamp {v}: {e}")))
}

/// A stored civil date (`YYYY-MM-DD`).
pub fn date(v: &str) -> Result<Date, StoreError> {
    v.parse()
        .map_err(|e| StoreError::Backend(format!("bad date {v:?}: {e}")))
}

fn quantity(v: i64) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| StoreError::Backend(format!("bad qty {v}")))
}

/// An order row without its lines and promise history (the caller fills them in).
pub fn order_head(row: &impl Columns) -> Result<Order, StoreError> {
    Ok(Order {
        id: row.int("id")?,
        status: OrderStatus::parse(&row.text("status")?, "status").map_err(corrupt)?,
        channel: Channel::parse(&row.text("channel")?, "channel").map_err(corrupt)?,
        external_ref: row.text("external_ref")?,
        customer: Customer {
            name: row.text("customer_name")?,
            phone: row.text("customer_phone")?,
            address: row.text("customer_address")?,
            location: LatLon::new(row.real("lat")?, row.real("lon")?, "customer")
                .map_err(corrupt)?,
        },
        region: Region::parse(&row.text("region")?, "region").map_err(corrupt)?,
        created_by: row.int("principal_id")?,
        created_at: timestamp(row.int("created_at")?)?,
        promised_date: date(&row.text("promised_date")?)?,
        accepted_on: date(&row.text("accepted_on")?)?,
        promises: Vec::new(),
        site_access: rendan_domain::visit::SiteAccess {
            floor: u8::try_from(row.int("floor")?).unwrap_or(u8::MAX),
            lift: row.int("lift")? != 0,
            haul_away: row.int("haul_away")? != 0,
        },
        lines: Vec::new(),
    })
}

/// A promise history row: `(order_id, change)`.
pub fn promise(row: &impl Columns) -> Result<(i64, PromiseChange), StoreError> {
    let reason = match row.text("reason")?.as_str() {
        "accepted" => PromiseReason::Accepted,
        "replanned" => PromiseReason::Replanned {
            production_order: row.opt_int("cause")?.ok_or_else(|| {
                StoreError::Backend("a replanned promise without its cause".into())
            })?,
        },
        other => {
            return Err(StoreError::Backend(format!(
                "unknown promise reason {other:?}"
            )));
        }
    };
    Ok((
        row.int("order_id")?,
        PromiseChange {
            date: date(&row.text("promised_date")?)?,
            at: timestamp(row.int("at")?)?,
            reason,
        },
    ))
}

/// The cause column of a promise row.
pub fn promise_cause(reason: &PromiseReason) -> Option<i64> {
    match reason {
        PromiseReason::Accepted => None,
        PromiseReason::Replanned { production_order } => Some(*production_order),
    }
}

/// An order line row: `(order_id, line)`.
pub fn order_line(row: &impl Columns) -> Result<(i64, OrderLine), StoreError> {
    let site = |col: &str| -> Result<SiteId, StoreError> {
        let v = row.opt_text(col)?;
        SiteId::parse(v.as_deref().unwrap_or_default(), col).map_err(corrupt)
    };
    let fulfilment = match row.text("kind")?.as_str() {
        "stock" => Fulfilment::Stock {
            site: site("site")?,
        },
        "production" => Fulfilment::Production {
            production_order: row.opt_int("production_order")?.ok_or_else(|| {
                StoreError::Backend("production line without production order".into())
            })?,
            factory: site("factory")?,
        },
        other => return Err(StoreError::Backend(format!("unknown line kind {other:?}"))),
    };
    Ok((
        row.int("order_id")?,
        OrderLine {
            sku: Sku::parse(&row.text("sku")?, "sku").map_err(corrupt)?,
            qty: quantity(row.int("qty")?)?,
            fulfilment,
        },
    ))
}

/// A production order row.
pub fn production_order(row: &impl Columns) -> Result<ProductionOrder, StoreError> {
    let site = |col: &str| -> Result<SiteId, StoreError> {
        SiteId::parse(&row.text(col)?, col).map_err(corrupt)
    };
    Ok(ProductionOrder {
        id: row.int("id")?,
        order_id: row.int("order_id")?,
        sku: Sku::parse(&row.text("sku")?, "sku").map_err(corrupt)?,
        qty: quantity(row.int("qty")?)?,
        factory: site("factory")?,
        destination: site("destination")?,
        region: Region::parse(&row.text("region")?, "region").map_err(corrupt)?,
        status: ProductionStatus::parse(&row.text("status")?, "status").map_err(corrupt)?,
        category: Category::parse(&row.text("category")?, "category").map_err(corrupt)?,
        earliest: date(&row.text("earliest")?)?,
        ready_date: date(&row.text("ready_date")?)?,
        transfer_days: u32::try_from(row.int("transfer_days")?)
            .map_err(|_| StoreError::Backend("bad transfer_days".into()))?,
        created_at: timestamp(row.int("created_at")?)?,
        closed_at: row.opt_int("closed_at")?.map(timestamp).transpose()?,
    })
}

/// Implements [`Columns`] for a backend's row wrapper `$wrapper(&Row)` through its generic
/// column reader `$get(row, col) -> Result<T, StoreError>`.
#[macro_export]
macro_rules! columns_through {
    ($wrapper:ident, $get:path) => {
        impl $crate::rows::Columns for $wrapper<'_> {
            fn text(&self, col: &str) -> Result<String, $crate::StoreError> {
                $get(self.0, col)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>, $crate::StoreError> {
                $get(self.0, col)
            }
            fn int(&self, col: &str) -> Result<i64, $crate::StoreError> {
                $get(self.0, col)
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>, $crate::StoreError> {
                $get(self.0, col)
            }
            fn real(&self, col: &str) -> Result<f64, $crate::StoreError> {
                $get(self.0, col)
            }
        }
    };
}

/// The text columns of a crew: sorted skills comma-separated, the week as
/// `mon=08:00-18:00;tue=...;sun=` (empty: no shift), dates off comma-separated.
pub fn crew_columns(crew: &rendan_domain::crew::NewCrew) -> (String, String, String) {
    use rendan_domain::crew::{WEEKDAYS, format_time};
    let skills = crew
        .skills
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let week = WEEKDAYS
        .iter()
        .zip(crew.week.0.iter())
        .map(|(day, shift)| match shift {
            Some(s) => format!("{day}={}-{}", format_time(s.start), format_time(s.end)),
            None => format!("{day}="),
        })
        .collect::<Vec<_>>()
        .join(";");
    let days_off = crew
        .days_off
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    (skills, week, days_off)
}

/// A crew row.
pub fn crew(row: &impl Columns) -> Result<rendan_domain::crew::Crew, StoreError> {
    use rendan_domain::crew::{Crew, Shift, Skill, Truck, WEEKDAYS, Week, parse_time};
    let skills = row
        .text("skills")?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Skill::parse(s, "skills").map_err(corrupt))
        .collect::<Result<_, _>>()?;
    let mut week = Week::default();
    for part in row.text("week")?.split(';') {
        let (day, hours) = part
            .split_once('=')
            .ok_or_else(|| StoreError::Backend(format!("bad crew week {part:?}")))?;
        let i = WEEKDAYS
            .iter()
            .position(|d| *d == day)
            .ok_or_else(|| StoreError::Backend(format!("bad weekday {day:?}")))?;
        if let Some((a, b)) = hours.split_once('-') {
            let start = parse_time(a, "week").map_err(corrupt)?;
            let end = parse_time(b, "week").map_err(corrupt)?;
            week.0[i] = Some(Shift::new(start, end, "week").map_err(corrupt)?);
        }
    }
    let days_off = row
        .text("days_off")?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(date)
        .collect::<Result<_, _>>()?;
    Ok(Crew {
        id: row.int("id")?,
        depot: SiteId::parse(&row.text("depot")?, "depot").map_err(corrupt)?,
        name: row.text("name")?,
        skills,
        truck: Truck {
            kg: row.real("truck_kg")?,
            m3: row.real("truck_m3")?,
        },
        week,
        days_off,
    })
}

/// An appointment row and the visit's position in its crew's route.
pub fn appointment(
    row: &impl Columns,
) -> Result<(rendan_domain::appointment::Appointment, usize), StoreError> {
    use rendan_domain::appointment::{Appointment, Window};
    use rendan_domain::crew::parse_time;
    let time = |col: &str| -> Result<jiff::civil::Time, StoreError> {
        parse_time(&row.text(col)?, col).map_err(corrupt)
    };
    Ok((
        Appointment {
            order: row.int("order_id")?,
            depot: SiteId::parse(&row.text("depot")?, "depot").map_err(corrupt)?,
            date: date(&row.text("day")?)?,
            window: Window {
                start: time("window_start")?,
                end: time("window_end")?,
            },
            crew: row.int("crew")?,
        },
        usize::try_from(row.int("position")?)
            .map_err(|_| StoreError::Backend("bad position".into()))?,
    ))
}

/// A booked visit's order row (`id, status, lat, lon, floor, lift, haul_away`), lines to be
/// filled by the caller.
pub fn visit(row: &impl Columns) -> Result<crate::Visit, StoreError> {
    Ok(crate::Visit {
        order: row.int("id")?,
        status: OrderStatus::parse(&row.text("status")?, "status").map_err(corrupt)?,
        location: LatLon::new(row.real("lat")?, row.real("lon")?, "customer").map_err(corrupt)?,
        lines: Vec::new(),
        site_access: rendan_domain::visit::SiteAccess {
            floor: u8::try_from(row.int("floor")?).unwrap_or(u8::MAX),
            lift: row.int("lift")? != 0,
            haul_away: row.int("haul_away")? != 0,
        },
    })
}

/// Lines (`order_id, sku, qty`) given to their visits.
pub fn attach_visit_lines(
    visits: &mut [crate::Visit],
    lines: impl IntoIterator<Item = (i64, Sku, u32)>,
) {
    let at: std::collections::HashMap<i64, usize> = visits
        .iter()
        .enumerate()
        .map(|(i, v)| (v.order, i))
        .collect();
    for (order, sku, qty) in lines {
        if let Some(&i) = at.get(&order) {
            visits[i].lines.push((sku, qty));
        }
    }
}

/// A line row of a visit: `(order_id, sku, qty)`.
pub fn visit_line(row: &impl Columns) -> Result<(i64, Sku, u32), StoreError> {
    Ok((
        row.int("order_id")?,
        Sku::parse(&row.text("sku")?, "sku").map_err(corrupt)?,
        quantity(row.int("qty")?)?,
    ))
}

/// A visit that went out (`order_id, day, depot, crew, position, window_start, window_end,
/// dispatched_at, outcome, reason, haul_away_received, unapplied`).
pub fn attempt(row: &impl Columns) -> Result<rendan_domain::stop::Attempt, StoreError> {
    use rendan_domain::stop::{Applied, Attempt, Outcome};
    let (appointment, position) = appointment(row)?;
    let outcome = Outcome::parse(&row.text("outcome")?, row.opt_text("reason")?.as_deref())
        .map_err(corrupt)?;
    Ok(Attempt {
        order: appointment.order,
        depot: appointment.depot,
        date: appointment.date,
        window: appointment.window,
        crew: appointment.crew,
        position,
        dispatched_at: timestamp(row.int("dispatched_at")?)?,
        applied: Applied {
            outcome,
            haul_away_received: row.int("haul_away_received")? != 0,
        },
        unapplied: row.opt_text("unapplied")?,
    })
}

/// A stored stop event (`event_id, order_id, day, kind, at, lat, lon, reason, proof,
/// photo_sha256, signature_sha256, posted_by, received_at`).
pub fn reported(row: &impl Columns) -> Result<rendan_domain::stop::Reported, StoreError> {
    use rendan_domain::stop::{
        Digest, EventId, FailureReason, Proof, Reported, StopEvent, StopEventKind,
    };
    let digest = |col: &str| -> Result<Option<Digest>, StoreError> {
        row.opt_text(col)?
            .map(|v| Digest::parse(&v, col).map_err(corrupt))
            .transpose()
    };
    let event = StopEvent {
        id: EventId::parse(&row.text("event_id")?, "event_id").map_err(corrupt)?,
        kind: StopEventKind::parse(&row.text("kind")?, "kind").map_err(corrupt)?,
        at: timestamp(row.int("at")?)?,
        location: LatLon::new(row.real("lat")?, row.real("lon")?, "").map_err(corrupt)?,
        reason: row
            .opt_text("reason")?
            .map(|r| FailureReason::parse(&r, "reason").map_err(corrupt))
            .transpose()?,
        proof: if row.int("proof")? != 0 {
            Some(Proof {
                photo_sha256: digest("photo_sha256")?,
                signature_sha256: digest("signature_sha256")?,
            })
        } else {
            None
        },
    };
    Ok(Reported {
        event,
        order: row.int("order_id")?,
        date: date(&row.text("day")?)?,
        posted_by: row.int("posted_by")?,
        received_at: timestamp(row.int("received_at")?)?,
    })
}

fn statuses(v: &str) -> Result<Vec<OrderStatus>, StoreError> {
    v.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| OrderStatus::parse(s, "events").map_err(corrupt))
        .collect()
}

/// The stored form of a webhook's statuses.
pub fn events_column(events: &[OrderStatus]) -> String {
    events
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// A webhook row (`id, channel_id, url, events, created_at`).
pub fn webhook(row: &impl Columns) -> Result<rendan_domain::webhook::Webhook, StoreError> {
    Ok(rendan_domain::webhook::Webhook {
        id: row.int("id")?,
        channel: row.int("channel_id")?,
        url: row.text("url")?,
        events: statuses(&row.text("events")?)?,
        created_at: timestamp(row.int("created_at")?)?,
    })
}

/// A due outbox row joined with its webhook and order (`id, webhook_id, url, secret,
/// order_id, external_ref, status, at, attempts`).
pub fn due_delivery(row: &impl Columns) -> Result<crate::DueDelivery, StoreError> {
    Ok(crate::DueDelivery {
        id: row.int("id")?,
        webhook: row.int("webhook_id")?,
        url: row.text("url")?,
        secret: row.text("secret")?,
        order: row.int("order_id")?,
        external_ref: row.text("external_ref")?,
        status: OrderStatus::parse(&row.text("status")?, "status").map_err(corrupt)?,
        at: timestamp(row.int("at")?)?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
    })
}

/// An attempt row (`id, outbox_id, webhook_id, order_id, status, attempt, at, status_code,
/// error, outcome, next_at`) and its id.
pub fn delivery_attempt(row: &impl Columns) -> Result<(i64, crate::DeliveryAttempt), StoreError> {
    let after = match (row.text("outcome")?.as_str(), row.opt_int("next_at")?) {
        ("delivered", _) => crate::AfterAttempt::Delivered,
        ("retrying", Some(at)) => crate::AfterAttempt::RetryAt(timestamp(at)?),
        ("given_up", _) => crate::AfterAttempt::GaveUp,
        (other, _) => {
            return Err(StoreError::Backend(format!(
                "bad attempt outcome {other:?}"
            )));
        }
    };
    Ok((
        row.int("id")?,
        crate::DeliveryAttempt {
            delivery: row.int("outbox_id")?,
            webhook: row.int("webhook_id")?,
            order: row.int("order_id")?,
            status: OrderStatus::parse(&row.text("status")?, "status").map_err(corrupt)?,
            attempt: u32::try_from(row.int("attempt")?).unwrap_or(u32::MAX),
            at: timestamp(row.int("at")?)?,
            status_code: row
                .opt_int("status_code")?
                .and_then(|c| u16::try_from(c).ok()),
            error: row.opt_text("error")?,
            after,
        },
    ))
}
