//! `GET /service-levels`: the published service standards over a range of local dates.

use super::delivery::parse_date;
use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{Problems, QueryMap, param};
use axum::Json;
use axum::extract::State;
use jiff::civil::Date;
use rendan_domain::Invalid;
use rendan_domain::service::{Figures, GroupBy, Rate, Report, Targets};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A share of what was counted.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateView {
    /// Met the standard.
    pub met: u32,
    /// Counted.
    pub total: u32,
    /// `met / total` in percent; null when nothing was counted.
    pub percent: Option<f64>,
    /// Whether it meets the region's target (only when grouped by region).
    pub target_met: Option<bool>,
}

/// Order-to-installed lead time in local days.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadTimeView {
    /// Orders installed in the range.
    pub count: usize,
    /// Median, nearest rank.
    pub p50: Option<i64>,
    /// 90th percentile, nearest rank.
    pub p90: Option<i64>,
}

/// Misses caused by the customer, left out of the rates.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerMissesView {
    /// Visits left out of the on-time rate.
    pub on_time: u32,
    /// Orders left out of the first-visit rate.
    pub first_visit_install: u32,
    /// Orders left out of the promise rate.
    pub promise_kept: u32,
    /// Customer-caused failed visits by reason.
    pub by_reason: BTreeMap<String, u32>,
}

/// A region's published targets, in percent.
#[derive(Debug, Serialize, ToSchema)]
pub struct TargetsView {
    /// On time.
    pub on_time: f64,
    /// Installed on the first visit.
    pub first_visit_install: f64,
    /// Promise kept.
    pub promise_kept: f64,
}

/// The figures of one group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    /// The region, depot, crew id or category.
    pub key: String,
    /// Visits dated in the range.
    pub visits: u32,
    /// Failed visits by reason (customer- and company-caused).
    pub failures: BTreeMap<String, u32>,
    /// Arrival inside the booked window (± the tolerance).
    pub on_time: RateView,
    /// Installed on the first visit.
    pub first_visit_install: RateView,
    /// Installed on or before the date first promised.
    pub promise_kept: RateView,
    /// Order-to-installed lead time.
    pub lead_time_days: LeadTimeView,
    /// Misses caused by the customer, excluded from the rates above.
    pub customer_caused: CustomerMissesView,
    /// The region's targets (only when grouped by region).
    pub targets: Option<TargetsView>,
}

/// The service standards of a range.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceLevelsView {
    /// First local date.
    pub from: String,
    /// Last local date.
    pub to: String,
    /// `region`, `depot`, `crew` or `category`.
    pub group_by: String,
    /// Minutes outside the window an arrival still counts as on time.
    pub on_time_tolerance_minutes: i64,
    /// One entry per group with a visit or an installation in the range, by key.
    pub groups: Vec<GroupView>,
}

fn rate(r: &Rate, target: Option<f64>) -> RateView {
    RateView {
        met: r.met,
        total: r.total,
        percent: r.percent(),
        target_met: target.map(|t| r.meets(t)),
    }
}

fn group(key: &str, f: &Figures, targets: Option<&Targets>) -> GroupView {
    GroupView {
        key: key.to_string(),
        visits: f.visits,
        failures: f
            .failures
            .iter()
            .map(|(r, n)| (r.as_str().to_string(), *n))
            .collect(),
        on_time: rate(&f.on_time, targets.map(|t| t.on_time)),
        first_visit_install: rate(&f.first_visit, targets.map(|t| t.first_visit)),
        promise_kept: rate(&f.promise_kept, targets.map(|t| t.promise_kept)),
        lead_time_days: LeadTimeView {
            count: f.lead_days.len(),
            p50: f.lead_quantile(0.5),
            p90: f.lead_quantile(0.9),
        },
        customer_caused: CustomerMissesView {
            on_time: f.customer.on_time,
            first_visit_install: f.customer.first_visit,
            promise_kept: f.customer.promise_kept,
            by_reason: f
                .customer
                .by_reason
                .iter()
                .map(|(r, n)| (r.as_str().to_string(), *n))
                .collect(),
        },
        targets: targets.map(|t| TargetsView {
            on_time: t.on_time,
            first_visit_install: t.first_visit,
            promise_kept: t.promise_kept,
        }),
    }
}

impl From<&Report> for ServiceLevelsView {
    fn from(r: &Report) -> Self {
        ServiceLevelsView {
            from: r.from.to_string(),
            to: r.to.to_string(),
            group_by: r.group_by.as_str().to_string(),
            on_time_tolerance_minutes: r.tolerance.as_mins(),
            groups: r
                .groups
                .iter()
                .map(|(k, f)| group(k, f, r.targets.get(k)))
                .collect(),
        }
    }
}

/// The published service standards over a range of local dates, measured from the crews'
/// stop events: on time, installed on the first visit, promise kept and lead time, with the
/// misses the customer caused left out of the rates and counted beside them. A scoped planner
/// sees its region only; channels and crews are refused.
#[utoipa::path(get, path = "/service-levels", tag = "delivery", operation_id = "serviceLevels",
    params(("from" = inline(contract::params::Date), Query, description = "First local date"),
        ("to" = inline(contract::params::Date), Query, description = "Last local date (at most 366 days after from)"),
        ("group_by" = inline(Option<contract::params::GroupBy>), Query, description = "region (default, with targets), depot, crew or category")),
    responses((status = 200, body = ServiceLevelsView),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn levels(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<ServiceLevelsView>, ApiError> {
    let q = q.only(&["from", "to", "group_by"])?;
    let mut p = Problems::default();
    let mut required = |name: &str| match q.get(name) {
        Some(v) => p.take(parse_date(v, name)),
        None => p.take::<Date>(Err(Invalid::new(name, "required"))),
    };
    let from = required("from");
    let to = required("to");
    let group_by = p
        .take(param(&q, "group_by", GroupBy::parse))
        .flatten()
        .unwrap_or(GroupBy::Region);
    p.finish()?;
    let (Some(from), Some(to)) = (from, to) else {
        return Err(ApiError::invalid("from", "a range is required"));
    };
    let report = state
        .cases()
        .service_levels(Some(&caller), from, to, group_by)
        .await?;
    Ok(Json(ServiceLevelsView::from(&report)))
}
