//! The published service standards, measured from the crews' stop events alone.
//!
//! Every figure is computed from the visits that went out (their booked window, their depot's
//! time zone) and the state their events fold into ([`crate::stop::fold`]), plus two facts of
//! the order: when it was placed and the date first promised. Dates are local dates at the
//! depot that visits the order; a range `from..=to` includes both ends.
//!
//! - **On time**: a visit dated in the range whose crew arrived (its earliest event) inside the
//!   booked window, widened by the tolerance on both sides. A visit without any event counts
//!   as not on time (the crew never reported being there).
//! - **Installed on the first visit**: an order whose first visit is dated in the range and
//!   whose outcome is `installed`.
//! - **Promise kept**: an order installed (the local date of its `installed` event) in the
//!   range on or before the date first promised to the customer.
//! - **Lead time**: from the local date the order was placed to the local date it was
//!   installed, in days, for every order installed in the range; p50 and p90 by the
//!   nearest-rank method (the smallest value with at least 50% / 90% of the values at or
//!   below it).
//! - **Misses caused by the customer are excluded** from the rates and counted beside them: a
//!   visit that failed for a customer-caused reason (`customer_absent`, `access_impossible`,
//!   `refused`) is not in the on-time rate, an order whose first visit failed so is not in the
//!   first-visit rate, and an order whose promise was missed after such a failure is not in
//!   the promise rate. What counts as a miss and what is excluded therefore never depends on
//!   the order in which events arrived.
//!
//! Figures are grouped by region, depot, crew or product category (an order with lines of two
//! categories counts in both).

use crate::appointment::Window;
use crate::catalogue::Category;
use crate::stop::{Cause, FailureReason, Outcome, StopState};
use crate::{Invalid, Region, SiteId};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use std::collections::{BTreeMap, BTreeSet};

/// How figures are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupBy {
    /// The region of the order.
    Region,
    /// The depot whose crew visited.
    Depot,
    /// The crew that visited.
    Crew,
    /// The product category of the order's lines.
    Category,
}

impl GroupBy {
    /// Every grouping.
    pub const ALL: [GroupBy; 4] = [
        GroupBy::Region,
        GroupBy::Depot,
        GroupBy::Crew,
        GroupBy::Category,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            GroupBy::Region => "region",
            GroupBy::Depot => "depot",
            GroupBy::Crew => "crew",
            GroupBy::Category => "category",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == value)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!("expected region, depot, crew or category, got {value:?}"),
                )
            })
    }
}

/// The published targets of a region, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Targets {
    /// Share of visits on time.
    pub on_time: f64,
    /// Share of orders installed on the first visit.
    pub first_visit: f64,
    /// Share of promises kept.
    pub promise_kept: f64,
}

impl Default for Targets {
    /// On time 95%, first-visit installation 90%, promise kept 95%.
    fn default() -> Self {
        Targets {
            on_time: 95.0,
            first_visit: 90.0,
            promise_kept: 95.0,
        }
    }
}

/// One visit that went out, with what the measurement needs of its order.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRecord {
    /// The order.
    pub order: i64,
    /// The order's region.
    pub region: Region,
    /// The depot whose crew went.
    pub depot: SiteId,
    /// The depot's time zone.
    pub zone: TimeZone,
    /// The crew.
    pub crew: i64,
    /// The categories of the order's lines.
    pub categories: Vec<Category>,
    /// The visit's local date.
    pub date: Date,
    /// The booked window.
    pub window: Window,
    /// When the order was placed.
    pub ordered_at: Timestamp,
    /// The date first promised to the customer.
    pub promised: Date,
    /// The state its events fold into.
    pub state: StopState,
}

/// A share: how many met the standard out of how many counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    /// Met the standard.
    pub met: u32,
    /// Counted.
    pub total: u32,
}

impl Rate {
    fn count(&mut self, met: bool) {
        self.total += 1;
        self.met += u32::from(met);
    }

    /// The share in percent; `None` when nothing was counted.
    pub fn percent(&self) -> Option<f64> {
        (self.total > 0).then(|| 100.0 * f64::from(self.met) / f64::from(self.total))
    }

    /// Whether it meets `target` percent (nothing counted meets every target).
    pub fn meets(&self, target: f64) -> bool {
        self.percent().is_none_or(|p| p >= target)
    }
}

/// Misses caused by the customer, excluded from the rates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CustomerMisses {
    /// Visits left out of the on-time rate.
    pub on_time: u32,
    /// Orders left out of the first-visit rate.
    pub first_visit: u32,
    /// Orders left out of the promise rate.
    pub promise_kept: u32,
    /// Failed visits by reason.
    pub by_reason: BTreeMap<FailureReason, u32>,
}

/// The figures of one group.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    /// Visits dated in the range.
    pub visits: u32,
    /// Failed visits dated in the range, by reason (customer- and company-caused).
    pub failures: BTreeMap<FailureReason, u32>,
    /// Arrival inside the booked window.
    pub on_time: Rate,
    /// Installed on the first visit.
    pub first_visit: Rate,
    /// Installed on or before the date first promised.
    pub promise_kept: Rate,
    /// Order-to-installed lead times in local days, ascending.
    pub lead_days: Vec<i64>,
    /// Misses caused by the customer, excluded from the rates.
    pub customer: CustomerMisses,
}

impl Figures {
    /// The lead time at quantile `q` (0 < q ≤ 1) by nearest rank, if any order was installed.
    pub fn lead_quantile(&self, q: f64) -> Option<i64> {
        let n = self.lead_days.len();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        Some(self.lead_days[rank - 1])
    }
}

fn customer_caused(state: &StopState) -> Option<FailureReason> {
    state
        .outcome()
        .reason()
        .filter(|r| r.cause() == Cause::Customer)
}

fn local_date(at: Timestamp, zone: &TimeZone) -> Date {
    at.to_zoned(zone.clone()).date()
}

/// Whether the crew arrived inside the booked window, widened by `tolerance` on both sides.
pub fn arrived_on_time(record: &VisitRecord, tolerance: SignedDuration) -> bool {
    let Some(arrived) = record.state.arrived_at else {
        return false;
    };
    let instant = |t| {
        record
            .date
            .to_datetime(t)
            .to_zoned(record.zone.clone())
            .map(|z| z.timestamp())
    };
    match (instant(record.window.start), instant(record.window.end)) {
        (Ok(start), Ok(end)) => arrived >= start - tolerance && arrived <= end + tolerance,
        _ => false,
    }
}

/// Measures the service standards of the visits in `records` (every visit of each order
/// concerned, also those outside the range: which visit came first and whether the customer
/// caused an earlier failure depends on them) over `from..=to`, grouped by `group_by`.
pub fn measure(
    records: &[VisitRecord],
    from: Date,
    to: Date,
    group_by: GroupBy,
    tolerance: SignedDuration,
) -> BTreeMap<String, Figures> {
    let keys = |r: &VisitRecord| -> Vec<String> {
        match group_by {
            GroupBy::Region => vec![r.region.to_string()],
            GroupBy::Depot => vec![r.depot.to_string()],
            GroupBy::Crew => vec![r.crew.to_string()],
            GroupBy::Category => r
                .categories
                .iter()
                .map(|c| c.as_str().to_string())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
        }
    };
    let in_range = |d: Date| from <= d && d <= to;
    let mut by_order: BTreeMap<i64, Vec<&VisitRecord>> = BTreeMap::new();
    for r in records {
        by_order.entry(r.order).or_default().push(r);
    }
    let mut out: BTreeMap<String, Figures> = BTreeMap::new();
    for visits in by_order.values_mut() {
        visits.sort_by_key(|r| r.date);
        for (i, r) in visits.iter().enumerate() {
            let installed_on = r
                .state
                .installed_at
                .filter(|_| r.state.outcome() == Outcome::Installed)
                .map(|t| local_date(t, &r.zone));
            let customer = customer_caused(&r.state);
            let customer_before = visits[..i]
                .iter()
                .any(|v| customer_caused(&v.state).is_some());
            let installed_in_range = installed_on.filter(|&d| in_range(d));
            if !in_range(r.date) && installed_in_range.is_none() {
                continue;
            }
            for key in keys(r) {
                let f = out.entry(key).or_default();
                if in_range(r.date) {
                    f.visits += 1;
                    if let Some(reason) = r.state.outcome().reason() {
                        *f.failures.entry(reason).or_default() += 1;
                    }
                    match customer {
                        Some(reason) => {
                            f.customer.on_time += 1;
                            *f.customer.by_reason.entry(reason).or_default() += 1;
                        }
                        None => f.on_time.count(arrived_on_time(r, tolerance)),
                    }
                    if i == 0 {
                        match customer {
                            Some(_) => f.customer.first_visit += 1,
                            None => f.first_visit.count(r.state.outcome() == Outcome::Installed),
                        }
                    }
                }
                if let Some(day) = installed_in_range {
                    let kept = day <= r.promised;
                    if !kept && (customer_before || customer.is_some()) {
                        f.customer.promise_kept += 1;
                    } else {
                        f.promise_kept.count(kept);
                    }
                    let ordered = local_date(r.ordered_at, &r.zone);
                    f.lead_days.push((day - ordered).get_days().into());
                }
            }
        }
    }
    for f in out.values_mut() {
        f.lead_days.sort_unstable();
    }
    out
}

/// The service standards of a range: the figures per group, each region's targets when
/// grouped by region, and the figures of each day of the range by the same grouping.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// First local date.
    pub from: Date,
    /// Last local date.
    pub to: Date,
    /// How the figures are grouped.
    pub group_by: GroupBy,
    /// The tolerance on-time arrivals were measured with.
    pub tolerance: SignedDuration,
    /// Figures per group, by key.
    pub groups: BTreeMap<String, Figures>,
    /// Targets per group (only when grouped by region).
    pub targets: BTreeMap<String, Targets>,
    /// The same figures for each day of the range.
    pub daily: Vec<(Date, BTreeMap<String, Figures>)>,
}

impl Report {
    /// Measures `records` over `from..=to` (see [`measure`]), with each day's figures.
    pub fn new(
        records: &[VisitRecord],
        from: Date,
        to: Date,
        group_by: GroupBy,
        tolerance: SignedDuration,
        targets: impl Fn(&str) -> Option<Targets>,
    ) -> Report {
        let groups = measure(records, from, to, group_by, tolerance);
        let targets = groups
            .keys()
            .filter_map(|k| targets(k).map(|t| (k.clone(), t)))
            .collect();
        let daily = from
            .series(1.day())
            .take_while(|&d| d <= to)
            .map(|d| (d, measure(records, d, d, group_by, tolerance)))
            .collect();
        Report {
            from,
            to,
            group_by,
            tolerance,
            groups,
            targets,
            daily,
        }
    }
}

/// The days of a month `YYYY-MM`: its first and last local date.
pub fn month(value: &str, field: &str) -> Result<(Date, Date), Invalid> {
    let bad = || Invalid::new(field, format!("expected a month as YYYY-MM, got {value:?}"));
    let (y, m) = value.split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let year: i16 = y.parse().map_err(|_| bad())?;
    let month: i8 = m.parse().map_err(|_| bad())?;
    let first = Date::new(year, month, 1).map_err(|_| bad())?;
    let last = first
        .checked_add(1.month())
        .and_then(|d| d.checked_sub(1.day()))
        .map_err(|_| bad())?;
    Ok((first, last))
}

#[cfg(test)]
mod tests;
