//! The network watch: `GET /network/state`, `GET /network/availability`,
//! `GET /network/incidents`, `GET /network/sla`, and the maintenance windows
//! (`GET|POST /network/maintenance`, `PUT|DELETE /network/maintenance/{id}`,
//! `GET /network/maintenance/{id}/versions`).
//!
//! Admins and planners read (a region-scoped planner only its region's nodes, incidents, windows
//! and report lines); only admins record windows; crews and channels get 403. When the process
//! runs without the network watch (`serve --no-netwatch`), every route answers 404.

use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{
    Problems, QueryMap, ValidJson, cursor, idempotency_key, limit, path_id, timestamp,
};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rendan_domain::access::Principal;
use rendan_domain::{Invalid, NodeId, Region};
use rendan_netwatch::Netwatch;
use rendan_netwatch::incident::Incident;
use rendan_netwatch::maintenance::{
    self, MaintenanceWindow, Schedule, Scope, WindowRefusal, WindowSpec,
};
use rendan_netwatch::month::Month;
use rendan_netwatch::report::{self, Figures, Format, Line};
use rendan_netwatch::slice::{SliceLen, parse_duration};
use rendan_netwatch::store::RequestKey;
use rendan_netwatch::windows::WindowError;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use utoipa::ToSchema;

macro_rules! param {
    ($ty:ident, $f:path) => {
        /// A query parameter's schema.
        pub struct $ty;

        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $f()
            }
        }

        impl ToSchema for $ty {}
    };
}

param!(ContractParam, contract::contract_name);
param!(MonthParam, contract::month);
param!(FormatParam, contract::report_format);
param!(FlagParam, contract::flag);

/// The longest range `GET /network/availability` accepts, in days (a quarter).
pub const MAX_RANGE_DAYS: i64 = 92;

/// Whose view a request reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Viewer {
    /// Every region.
    All,
    /// One region.
    Region(Region),
}

impl Viewer {
    fn sees(&self, region: &Region) -> bool {
        match self {
            Viewer::All => true,
            Viewer::Region(r) => r == region,
        }
    }
}

/// The running network watch, or 404 when this process runs without it.
fn watch(state: &AppState) -> Result<&Netwatch, ApiError> {
    state.network().ok_or_else(|| {
        ApiError::not_found("the network watch does not run in this process (--no-netwatch)")
    })
}

/// The caller's view: admins see everything, planners their region (or all when unscoped);
/// everyone else is refused.
fn reader(p: &Principal) -> Result<Viewer, ApiError> {
    if !p.can_read_operations() {
        return Err(ApiError::forbidden(
            "network operations are for admin and planner tokens",
        ));
    }
    Ok(match p.role.region() {
        Some(r) => Viewer::Region(r.clone()),
        None => Viewer::All,
    })
}

fn writer(p: &Principal) -> Result<(), ApiError> {
    if !p.can_change_operations() {
        return Err(ApiError::forbidden(
            "only admin tokens may change network operations",
        ));
    }
    Ok(())
}

fn node_region<'a>(nw: &'a Netwatch, node: &NodeId) -> Option<&'a Region> {
    nw.config().node(node).map(|n| &n.region)
}

fn scope_region<'a>(nw: &'a Netwatch, scope: &'a Scope) -> Option<&'a Region> {
    match scope {
        Scope::Node(n) => node_region(nw, n),
        Scope::Region(r) => Some(r),
    }
}

/// A node the caller may name: unknown and out-of-view nodes are refused alike, so a scoped
/// planner learns nothing of other regions.
fn known_node(nw: &Netwatch, viewer: &Viewer, field: &str, v: &str) -> Result<NodeId, Invalid> {
    let unknown = || Invalid::new(field, format!("unknown node {v:?}"));
    let id = NodeId::parse(v, field).map_err(|_| unknown())?;
    match node_region(nw, &id) {
        Some(r) if viewer.sees(r) => Ok(id),
        _ => Err(unknown()),
    }
}

/// An optional `true`/`false` query parameter.
fn flag(q: &QueryMap, name: &str) -> Result<Option<bool>, Invalid> {
    q.get(name)
        .map(|v| match v {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Invalid::new(name, "true or false")),
        })
        .transpose()
}

/// The first `limit` of `items` (already past the cursor), and the cursor of the next page
/// when there is more.
fn page<T>(
    items: impl Iterator<Item = T>,
    limit: usize,
    id: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    let mut items: Vec<T> = items.take(limit + 1).collect();
    let more = items.len() > limit;
    items.truncate(limit);
    let next = more
        .then(|| items.last().map(|x| id(x).to_string()))
        .flatten();
    (items, next)
}

fn contract_of<'a>(
    nw: &'a Netwatch,
    q: &QueryMap,
) -> Result<&'a rendan_netwatch::contract::Contract, Invalid> {
    let name = q.get("contract");
    nw.config().contract(name).ok_or_else(|| {
        Invalid::new(
            "contract",
            format!("unknown contract {:?}", name.unwrap_or("")),
        )
    })
}

/// What the monitor last saw of one node.
#[derive(Debug, Serialize, ToSchema)]
pub struct NodeStateView {
    /// Node id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Region.
    pub region: String,
    /// The agent probed, `host:port`.
    pub agent: Option<String>,
    /// `UP`, `DEGRADED`, `DOWN` or `NO_DATA` (not probed yet).
    pub state: String,
    /// When the last round was scheduled, RFC 3339.
    pub at: Option<String>,
    /// Why the last round was not UP.
    pub reason: Option<String>,
    /// TCP connect + echo time of the last round, ms.
    pub tcp_ms: Option<f64>,
    /// The open incident, if any.
    pub incident: Option<i64>,
}

/// The prober's counters since the process started.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulerView {
    /// Rounds started.
    pub rounds: u64,
    /// Rounds started more than 100 ms late.
    pub late: u64,
    /// Rounds skipped because the previous one overran its interval.
    pub skipped: u64,
    /// The largest start delay seen, ms.
    pub max_late_ms: f64,
    /// Slices written.
    pub slices_written: u64,
    /// Round results that came after their slice was closed.
    pub late_results: u64,
}

/// The network as the monitor sees it now.
#[derive(Debug, Serialize, ToSchema)]
pub struct NetworkStateView {
    /// Slice length, seconds.
    pub slice_s: i64,
    /// The nodes the caller may see, in topology order.
    pub nodes: Vec<NodeStateView>,
    /// The prober's counters.
    pub scheduler: SchedulerView,
}

/// Time per state, in slices of the report's length.
#[derive(Debug, Serialize, ToSchema)]
pub struct SliceCountsView {
    /// UP slices.
    pub up: u64,
    /// DEGRADED slices.
    pub degraded: u64,
    /// DOWN slices.
    pub down: u64,
    /// Slices under maintenance.
    pub maintenance: u64,
    /// Slices without data.
    pub no_data: u64,
}

/// Loss, round-trip time and jitter of one traffic class.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClassView {
    /// `tcp`, `voice`, `video` or `data`.
    pub class: String,
    /// Rounds measured.
    pub rounds: usize,
    /// Packets lost over packets sent, percent.
    pub loss_pct: f64,
    /// Median round-trip time, ms.
    pub rtt_p50_ms: Option<f64>,
    /// 95th percentile round-trip time, ms.
    pub rtt_p95_ms: Option<f64>,
    /// 99th percentile round-trip time, ms.
    pub rtt_p99_ms: Option<f64>,
    /// Median jitter, ms.
    pub jitter_p50_ms: Option<f64>,
    /// 95th percentile jitter, ms.
    pub jitter_p95_ms: Option<f64>,
}

/// The figures of one node or one region.
#[derive(Debug, Serialize, ToSchema)]
pub struct FigureLine {
    /// Node or region id.
    pub id: String,
    /// Node name (the id for a region).
    pub name: String,
    /// Region.
    pub region: String,
    /// Slices per state.
    pub slices: SliceCountsView,
    /// Availability, percent; null when nothing was measured.
    pub availability: Option<f64>,
    /// Contracted target, percent.
    pub target: f64,
    /// Met, missed, or null (nothing measured, or a month still running and not missed yet).
    pub met: Option<bool>,
    /// Downtime the target allows, minutes.
    pub allowed_down_min: f64,
    /// Downtime counted, minutes.
    pub used_down_min: f64,
    /// For a month: the downtime still allowed before the target is missed, minutes.
    pub remaining_down_min: Option<f64>,
    /// Minutes under maintenance.
    pub maintenance_min: f64,
    /// Minutes without data.
    pub no_data_min: f64,
    /// Incidents overlapping the range.
    pub incidents: usize,
    /// Per-class figures (nodes, month reports only).
    pub classes: Vec<ClassView>,
}

/// An incident as a report lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentSummaryView {
    /// Incident id.
    pub id: i64,
    /// Node.
    pub node: String,
    /// First failed round, RFC 3339.
    pub opened_at: String,
    /// First good round, RFC 3339; null while open.
    pub closed_at: Option<String>,
}

/// A weekly maintenance window's schedule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeeklyView {
    /// Day of the week in `tz`, e.g. `sunday` (or `sun`).
    pub weekday: String,
    /// Local start time in `tz`, `HH:MM`.
    pub at: String,
    /// Length, e.g. `2h` or `90m`; at most a week.
    pub duration: String,
    /// IANA zone, e.g. `Europe/Rome`.
    pub tz: String,
}

/// A maintenance window as it stands (or as it stood after one of its versions).
#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceWindowView {
    /// Window id.
    pub id: i64,
    /// Its latest version (1 when created; each change or deletion adds one).
    pub version: u32,
    /// The node it masks (or `region`).
    pub node: Option<String>,
    /// The region it masks (or `node`).
    pub region: Option<String>,
    /// One-off start, RFC 3339.
    pub start: Option<String>,
    /// One-off end, RFC 3339.
    pub end: Option<String>,
    /// Weekly schedule.
    pub weekly: Option<WeeklyView>,
    /// Free text, e.g. the change ticket.
    pub note: String,
    /// Recorded without the notice by an administrator; listed in every report.
    pub emergency: bool,
    /// When the window was first recorded, RFC 3339.
    pub created_at: String,
    /// Who recorded it.
    pub created_by: String,
    /// When its latest version was recorded, RFC 3339.
    pub changed_at: String,
    /// Who recorded the latest version.
    pub changed_by: String,
    /// When it was deleted, RFC 3339 (a deleted window masks nothing).
    pub deleted_at: Option<String>,
    /// Who deleted it.
    pub deleted_by: Option<String>,
}

impl From<&MaintenanceWindow> for MaintenanceWindowView {
    fn from(w: &MaintenanceWindow) -> Self {
        let (node, region) = match &w.scope {
            Scope::Node(n) => (Some(n.to_string()), None),
            Scope::Region(r) => (None, Some(r.to_string())),
        };
        let (start, end, weekly) = match &w.schedule {
            Schedule::OneOff { start, end } => {
                (Some(start.to_string()), Some(end.to_string()), None)
            }
            Schedule::Weekly {
                weekday,
                at,
                length,
                tz,
            } => (
                None,
                None,
                Some(WeeklyView {
                    weekday: format!("{weekday:?}").to_lowercase(),
                    at: at.strftime("%H:%M").to_string(),
                    duration: format!("{length:#}"),
                    tz: tz.iana_name().unwrap_or("UTC").to_string(),
                }),
            ),
        };
        MaintenanceWindowView {
            id: w.id,
            version: w.version,
            node,
            region,
            start,
            end,
            weekly,
            note: w.note.clone(),
            emergency: w.emergency,
            created_at: w.created.0.to_string(),
            created_by: w.created.1.clone(),
            changed_at: w.changed.0.to_string(),
            changed_by: w.changed.1.clone(),
            deleted_at: w.deleted.as_ref().map(|d| d.0.to_string()),
            deleted_by: w.deleted.as_ref().map(|d| d.1.clone()),
        }
    }
}

/// The SLA figures of a range or a contractual month.
#[derive(Debug, Serialize, ToSchema)]
pub struct FiguresView {
    /// Start, RFC 3339.
    pub from: String,
    /// End (exclusive), RFC 3339.
    pub to: String,
    /// The month, `YYYY-MM`, for a month report.
    pub month: Option<String>,
    /// For a month not yet ended: the instant the report stands at.
    pub in_progress_at: Option<String>,
    /// The instant the report stands at (windows recorded later are not applied).
    pub as_of: String,
    /// The contract.
    pub contract: String,
    /// The zone months are cut in.
    pub zone: String,
    /// Slice length, seconds.
    pub slice_s: i64,
    /// Whether DEGRADED counts as down under the contract.
    pub degraded_is_down: bool,
    /// One line per node the caller may see.
    pub nodes: Vec<FigureLine>,
    /// One line per region the caller may see.
    pub regions: Vec<FigureLine>,
    /// The maintenance windows that touch the range (planned, emergency and deleted).
    pub windows: Vec<MaintenanceWindowView>,
    /// The incidents that overlap the range.
    pub incidents: Vec<IncidentSummaryView>,
}

fn line_view(l: &Line, len: SliceLen) -> FigureLine {
    let c = l.counts.in_slices(len);
    FigureLine {
        id: l.id.clone(),
        name: l.name.clone(),
        region: l.region.to_string(),
        slices: SliceCountsView {
            up: c.up,
            degraded: c.degraded,
            down: c.down,
            maintenance: c.maintenance,
            no_data: c.no_data,
        },
        availability: l.availability,
        target: l.target,
        met: l.met,
        allowed_down_min: l.allowed_down_min,
        used_down_min: l.used_down_min,
        remaining_down_min: l.remaining_down_min,
        maintenance_min: l.maintenance_min,
        no_data_min: l.no_data_min,
        incidents: l.incidents,
        classes: l
            .classes
            .iter()
            .map(|c| ClassView {
                class: c.class.clone(),
                rounds: c.rounds,
                loss_pct: c.loss_pct,
                rtt_p50_ms: c.rtt_p50_ms,
                rtt_p95_ms: c.rtt_p95_ms,
                rtt_p99_ms: c.rtt_p99_ms,
                jitter_p50_ms: c.jitter_p50_ms,
                jitter_p95_ms: c.jitter_p95_ms,
            })
            .collect(),
    }
}

/// Keeps what `viewer` may see of `f`.
fn scoped(nw: &Netwatch, mut f: Figures, viewer: &Viewer) -> Figures {
    f.nodes.retain(|l| viewer.sees(&l.region));
    f.regions.retain(|l| viewer.sees(&l.region));
    f.windows
        .retain(|w| scope_region(nw, &w.scope).is_some_and(|r| viewer.sees(r)));
    f.incident_list
        .retain(|i| node_region(nw, &i.node).is_some_and(|r| viewer.sees(r)));
    f
}

fn figures_view(f: &Figures) -> FiguresView {
    FiguresView {
        from: f.from.to_string(),
        to: f.to.to_string(),
        month: f.month.map(|m| m.to_string()),
        in_progress_at: f.in_progress_at.map(|t| t.to_string()),
        as_of: f.as_of.to_string(),
        contract: f.contract.clone(),
        zone: f.zone.clone(),
        slice_s: f.slice.secs(),
        degraded_is_down: f.degraded_is_down,
        nodes: f.nodes.iter().map(|l| line_view(l, f.slice)).collect(),
        regions: f.regions.iter().map(|l| line_view(l, f.slice)).collect(),
        windows: f.windows.iter().map(MaintenanceWindowView::from).collect(),
        incidents: f
            .incident_list
            .iter()
            .map(|i| IncidentSummaryView {
                id: i.id,
                node: i.node.to_string(),
                opened_at: i.opened_at.to_string(),
                closed_at: i.closed_at.map(|t| t.to_string()),
            })
            .collect(),
    }
}

/// The network now: every node the caller may see with its last round, and the prober's
/// counters.
#[utoipa::path(get, path = "/network/state", tag = "network", operation_id = "networkState",
    responses((status = 200, body = NetworkStateView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The network watch does not run here", body = Problem, content_type = "application/problem+json")))]
pub async fn network_state(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<NetworkStateView>, ApiError> {
    let viewer = reader(&caller)?;
    q.only(&[])?;
    let nw = watch(&state)?;
    let live = nw.live();
    let s = nw.stats();
    let nodes = nw
        .config()
        .nodes
        .iter()
        .filter(|n| viewer.sees(&n.region))
        .map(|n| {
            let l = live.get(&n.id);
            NodeStateView {
                id: n.id.to_string(),
                name: n.name.clone(),
                region: n.region.to_string(),
                agent: n.agent.clone(),
                state: l.map_or("NO_DATA", |l| l.state.as_str()).to_string(),
                at: l.map(|l| l.at.to_string()),
                reason: l.and_then(|l| l.reason.clone()),
                tcp_ms: l.and_then(|l| l.tcp_ms),
                incident: l.and_then(|l| l.incident),
            }
        })
        .collect();
    Ok(Json(NetworkStateView {
        slice_s: nw.config().slice.secs(),
        nodes,
        scheduler: SchedulerView {
            rounds: s.rounds.load(Ordering::Relaxed),
            late: s.late.load(Ordering::Relaxed),
            skipped: s.skipped.load(Ordering::Relaxed),
            max_late_ms: s.max_late_us.load(Ordering::Relaxed) as f64 / 1000.0,
            slices_written: s.slices_written.load(Ordering::Relaxed),
            late_results: s.late_results.load(Ordering::Relaxed),
        },
    }))
}

/// Availability of every node the caller may see over `[from, to)` (at most 92 days), under a
/// contract (the first by default), with the maintenance windows recorded so far.
#[utoipa::path(get, path = "/network/availability", tag = "network", operation_id = "networkAvailability",
    params(("from" = inline(contract::params::Instant), Query, description = "Start, RFC 3339"),
        ("to" = inline(contract::params::Instant), Query, description = "End (exclusive), RFC 3339; at most 92 days after from"),
        ("contract" = inline(Option<ContractParam>), Query, description = "Contract name (default: the first)")),
    responses((status = 200, body = FiguresView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The network watch does not run here", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or malformed instant, a range that is empty or too long, an unknown contract", body = Problem, content_type = "application/problem+json")))]
pub async fn availability(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<FiguresView>, ApiError> {
    let viewer = reader(&caller)?;
    let q = q.only(&["from", "to", "contract"])?;
    let nw = watch(&state)?;
    let mut p = Problems::default();
    let required = |v: Result<Option<Timestamp>, Invalid>, f: &str| {
        v.and_then(|t| t.ok_or_else(|| Invalid::new(f, "required, an RFC 3339 instant")))
    };
    let from = p.take(required(timestamp(&q, "from"), "from"));
    let to = p.take(required(timestamp(&q, "to"), "to"));
    let c = p.take(contract_of(nw, &q)).cloned();
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            p.take::<()>(Err(Invalid::new("to", "must be after from")));
        } else if t.duration_since(f) > SignedDuration::from_hours(24 * MAX_RANGE_DAYS) {
            p.take::<()>(Err(Invalid::new(
                "to",
                format!("the range may span at most {MAX_RANGE_DAYS} days"),
            )));
        }
    }
    p.finish()?;
    let (Some(from), Some(to), Some(c)) = (from, to, c) else {
        return Err(ApiError::invalid("from", "from and to are required"));
    };
    let f = report::figures(nw, &c, from, to, false, nw.now())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    Ok(Json(figures_view(&scoped(nw, f, &viewer))))
}

/// One incident with its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    /// Incident id (a page's cursor).
    pub id: i64,
    /// Node.
    pub node: String,
    /// First failed round, RFC 3339.
    pub opened_at: String,
    /// First good round, RFC 3339; null while open.
    pub closed_at: Option<String>,
    /// Slices the outage touched (to now while open).
    pub slices: i64,
    /// What happened, in order.
    pub timeline: Vec<TimelineView>,
}

/// One entry of an incident's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineView {
    /// When, RFC 3339.
    pub at: String,
    /// `first_failure`, `evidence`, `opened`, `first_success` or `closed`.
    pub kind: String,
    /// What was seen.
    pub detail: String,
}

/// A page of incidents.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentPage {
    /// Oldest first.
    pub items: Vec<IncidentView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

fn incident_view(i: &Incident, len: SliceLen, now: Timestamp) -> IncidentView {
    let end = i.closed_at.unwrap_or(now);
    // The slices the outage touched, from the first failed round to the first good one.
    let slices = (len.floor(end) - len.floor(i.opened_at)) / len.secs()
        + i64::from(end.as_second() % len.secs() != 0 || end.subsec_nanosecond() != 0);
    IncidentView {
        id: i.id,
        node: i.node.to_string(),
        opened_at: i.opened_at.to_string(),
        closed_at: i.closed_at.map(|t| t.to_string()),
        slices: slices.max(1),
        timeline: i
            .timeline
            .iter()
            .map(|e| TimelineView {
                at: e.at.to_string(),
                kind: e.kind.clone(),
                detail: e.detail.clone(),
            })
            .collect(),
    }
}

/// Incidents of the nodes the caller may see (or of one node), oldest first, a page at a time.
#[utoipa::path(get, path = "/network/incidents", tag = "network", operation_id = "networkIncidents",
    params(("node" = Option<contract::Node>, Query, description = "Only this node's incidents"),
        ("open" = inline(Option<FlagParam>), Query, description = "true: only open incidents; false: only closed ones"),
        ("limit" = inline(Option<contract::params::Limit>), Query, description = "Page size"),
        ("cursor" = inline(Option<contract::params::Cursor>), Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = IncidentPage),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The network watch does not run here", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown node, a bad page size or cursor", body = Problem, content_type = "application/problem+json")))]
pub async fn incidents(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<IncidentPage>, ApiError> {
    let viewer = reader(&caller)?;
    let q = q.only(&["node", "open", "limit", "cursor"])?;
    let nw = watch(&state)?;
    let mut p = Problems::default();
    let node = q
        .get("node")
        .and_then(|v| p.take(known_node(nw, &viewer, "node", v)));
    let open = p.take(flag(&q, "open")).flatten();
    let after = p.take(cursor(&q)).flatten().unwrap_or(0);
    let limit = p.take(limit(&q)).unwrap_or_default() as usize;
    p.finish()?;
    let list = nw
        .store()
        .incidents(node.as_ref())
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let now = nw.now();
    let len = nw.config().slice;
    let (items, next_cursor) = page(
        list.iter()
            .filter(|i| i.id > after)
            .filter(|i| open.is_none_or(|o| o == i.closed_at.is_none()))
            .filter(|i| node_region(nw, &i.node).is_some_and(|r| viewer.sees(r)))
            .map(|i| incident_view(i, len, now)),
        limit,
        |i| i.id,
    );
    Ok(Json(IncidentPage { items, next_cursor }))
}

/// The SLA report of a contractual month: JSON by default, or rendered as Markdown, CSV or a
/// standalone HTML page with a chart (`format`). A month not yet ended is marked in progress;
/// an ended month stands as of its end and never changes again.
#[utoipa::path(get, path = "/network/sla", tag = "network", operation_id = "networkSla",
    params(("month" = inline(MonthParam), Query, description = "YYYY-MM, in the contract's zone"),
        ("format" = inline(Option<FormatParam>), Query, description = "json (default), md, csv or html"),
        ("contract" = inline(Option<ContractParam>), Query, description = "Contract name (default: the first)")),
    responses((status = 200, description = "The report", content(
            (FiguresView = "application/json"),
            (String = "text/markdown"),
            (String = "text/csv"),
            (String = "text/html"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The network watch does not run here", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A missing or malformed month, an unknown format or contract", body = Problem, content_type = "application/problem+json")))]
pub async fn sla(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Response, ApiError> {
    let viewer = reader(&caller)?;
    let q = q.only(&["month", "format", "contract"])?;
    let nw = watch(&state)?;
    let mut p = Problems::default();
    let month = p.take(match q.get("month") {
        None => Err(Invalid::new("month", "required, e.g. 2026-10")),
        Some(m) => m
            .parse::<Month>()
            .map_err(|e| Invalid::new("month", e.to_string())),
    });
    let format = p.take(match q.get("format") {
        None | Some("json") => Ok(None),
        Some(f) => Format::parse(f)
            .map(Some)
            .ok_or_else(|| Invalid::new("format", "json, md, csv or html")),
    });
    let c = p.take(contract_of(nw, &q)).cloned();
    p.finish()?;
    let (Some(month), Some(format), Some(c)) = (month, format, c) else {
        return Err(ApiError::invalid("month", "month is required"));
    };
    let f = report::month_figures(nw, &c, month, nw.now())
        .await
        .map_err(|e| match e {
            report::ReportError::Month(m) => ApiError::invalid("month", m),
            report::ReportError::Store(s) => ApiError::internal(&s),
        })?;
    let f = scoped(nw, f, &viewer);
    Ok(match format {
        None => Json(figures_view(&f)).into_response(),
        Some(fmt) => (
            [(header::CONTENT_TYPE, fmt.content_type())],
            report::render(&f, fmt),
        )
            .into_response(),
    })
}

/// A page of maintenance windows.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowPage {
    /// By id.
    pub items: Vec<MaintenanceWindowView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// Maintenance windows of the caller's view, by id, a page at a time; deleted ones only when
/// asked for.
#[utoipa::path(get, path = "/network/maintenance", tag = "network", operation_id = "listMaintenance",
    params(("deleted" = inline(Option<FlagParam>), Query, description = "true: include deleted windows"),
        ("limit" = inline(Option<contract::params::Limit>), Query, description = "Page size"),
        ("cursor" = inline(Option<contract::params::Cursor>), Query, description = "next_cursor of the previous page")),
    responses((status = 200, body = WindowPage),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The network watch does not run here", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn list_maintenance(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<WindowPage>, ApiError> {
    let viewer = reader(&caller)?;
    let q = q.only(&["deleted", "limit", "cursor"])?;
    let nw = watch(&state)?;
    let mut p = Problems::default();
    let deleted = p.take(flag(&q, "deleted")).flatten().unwrap_or(false);
    let after = p.take(cursor(&q)).flatten().unwrap_or(0);
    let limit = p.take(limit(&q)).unwrap_or_default() as usize;
    p.finish()?;
    let list = nw.windows().await.map_err(|e| ApiError::internal(&e))?;
    let (items, next_cursor) = page(
        list.iter()
            .filter(|w| w.id > after && (deleted || w.deleted.is_none()))
            .filter(|w| scope_region(nw, &w.scope).is_some_and(|r| viewer.sees(r)))
            .map(MaintenanceWindowView::from),
        limit,
        |w| w.id,
    );
    Ok(Json(WindowPage { items, next_cursor }))
}

/// `POST /network/maintenance` and `PUT /network/maintenance/{id}` body: exactly one of `node`
/// or `region`, and either `start` and `end` or `weekly`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"node": "varese", "start": "2026-12-20T02:00:00Z",
    "end": "2026-12-20T04:00:00Z", "note": "CHG-1042 core switch firmware"}))]
pub struct MaintenanceBody {
    /// The node to mask.
    #[serde(default)]
    #[schema(schema_with = contract::maintenance_node)]
    pub node: Option<String>,
    /// The region to mask.
    #[serde(default)]
    #[schema(schema_with = contract::maintenance_region)]
    pub region: Option<String>,
    /// One-off start, RFC 3339; at least the notice (1 h by default) ahead unless `emergency`.
    #[serde(default)]
    #[schema(schema_with = contract::maintenance_instant)]
    pub start: Option<String>,
    /// One-off end, RFC 3339.
    #[serde(default)]
    #[schema(schema_with = contract::maintenance_instant)]
    pub end: Option<String>,
    /// A weekly window; it masks only from its announcement (now + the notice) on.
    #[serde(default)]
    #[schema(schema_with = contract::maintenance_weekly)]
    pub weekly: Option<WeeklyView>,
    /// Free text, e.g. the change ticket (at most 500 characters).
    #[serde(default)]
    #[schema(schema_with = contract::maintenance_note)]
    pub note: String,
    /// Record without the notice (after the fact): flagged and listed in every report.
    #[serde(default)]
    pub emergency: bool,
}

fn weekday(s: &str) -> Option<Weekday> {
    let all = [
        ("monday", Weekday::Monday),
        ("tuesday", Weekday::Tuesday),
        ("wednesday", Weekday::Wednesday),
        ("thursday", Weekday::Thursday),
        ("friday", Weekday::Friday),
        ("saturday", Weekday::Saturday),
        ("sunday", Weekday::Sunday),
    ];
    let s = s.to_ascii_lowercase();
    all.iter()
        .find(|(n, _)| *n == s || (s.len() == 3 && n.starts_with(&s)))
        .map(|(_, d)| *d)
}

/// The window a body asks for, every fault named.
fn window_spec(
    nw: &Netwatch,
    viewer: &Viewer,
    b: &MaintenanceBody,
) -> Result<WindowSpec, ApiError> {
    let mut p = Problems::default();
    let scope = match (&b.node, &b.region) {
        (Some(n), None) => p.take(known_node(nw, viewer, "node", n)).map(Scope::Node),
        (None, Some(r)) => p
            .take(
                Region::parse(r, "region")
                    .ok()
                    .filter(|region| {
                        viewer.sees(region) && nw.config().nodes.iter().any(|n| &n.region == region)
                    })
                    .ok_or_else(|| Invalid::new("region", format!("no node is in region {r:?}"))),
            )
            .map(Scope::Region),
        _ => p.take(Err(Invalid::new(
            "node",
            "give exactly one of node or region",
        ))),
    };
    let instant = |f: &str, v: &str| {
        v.parse::<Timestamp>()
            .map_err(|_| Invalid::new(f, "an RFC 3339 instant, e.g. 2026-12-20T02:00:00Z"))
    };
    let schedule = match (&b.start, &b.end, &b.weekly) {
        (Some(s), Some(e), None) => {
            let start = p.take(instant("start", s));
            let end = p.take(instant("end", e));
            // Kept to the millisecond, as stored, so a retried PUT compares equal.
            let ms = |t: Option<Timestamp>| {
                t.and_then(|t| Timestamp::from_millisecond(t.as_millisecond()).ok())
            };
            let (start, end) = (ms(start), ms(end));
            match (start, end) {
                (Some(start), Some(end))
                    if start
                        .checked_add(SignedDuration::from_secs(1))
                        .is_ok_and(|min| end >= min) =>
                {
                    Some(Schedule::OneOff { start, end })
                }
                (Some(_), Some(_)) => p.take(Err(Invalid::new(
                    "end",
                    "must be at least a second after start",
                ))),
                _ => None,
            }
        }
        (None, None, Some(w)) => {
            let wd = p.take(
                weekday(&w.weekday)
                    .ok_or_else(|| Invalid::new("weekly.weekday", "a day name such as sunday")),
            );
            let at = p.take(
                w.at.parse::<Time>()
                    .map_err(|_| Invalid::new("weekly.at", "a local time such as 02:00")),
            );
            let length = p.take(
                parse_duration(&w.duration)
                    .map_err(|m| Invalid::new("weekly.duration", m))
                    .and_then(|d| {
                        if d > SignedDuration::from_hours(24 * 7) {
                            Err(Invalid::new("weekly.duration", "at most one week"))
                        } else if d.subsec_nanos() != 0 {
                            Err(Invalid::new("weekly.duration", "whole seconds, e.g. 90m"))
                        } else {
                            Ok(d)
                        }
                    }),
            );
            let tz = p.take(
                TimeZone::get(&w.tz)
                    .map_err(|_| Invalid::new("weekly.tz", "an IANA zone such as Europe/Rome")),
            );
            match (wd, at, length, tz) {
                (Some(weekday), Some(at), Some(length), Some(tz)) => Some(Schedule::Weekly {
                    weekday,
                    at,
                    length,
                    tz,
                }),
                _ => None,
            }
        }
        _ => p.take(Err(Invalid::new(
            "start",
            "give start and end (one-off) or weekly {weekday, at, duration, tz}",
        ))),
    };
    if b.note.chars().count() > 500 {
        p.take::<()>(Err(Invalid::new("note", "at most 500 characters")));
    }
    p.finish()?;
    match (scope, schedule) {
        (Some(scope), Some(schedule)) => Ok(WindowSpec {
            scope,
            schedule,
            note: b.note.clone(),
            emergency: b.emergency,
        }),
        _ => Err(ApiError::invalid("body", "invalid maintenance window")),
    }
}

fn window_error(e: WindowError) -> ApiError {
    match e {
        WindowError::Refused(r @ WindowRefusal::TooLate { .. }) => {
            ApiError::invalid("start", r.to_string())
        }
        WindowError::Refused(r @ WindowRefusal::Deleted(_)) => ApiError::new(
            StatusCode::CONFLICT,
            "window-deleted",
            "Window deleted",
            r.to_string(),
        )
        .field("id"),
        WindowError::Unknown(id) => {
            ApiError::not_found(format!("maintenance window {id} not found"))
        }
        WindowError::Raced(id) => ApiError::new(
            StatusCode::CONFLICT,
            "stale",
            "Changed since it was read",
            format!("maintenance window {id} changed meanwhile; read it again"),
        )
        .field("id"),
        WindowError::KeyReused => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency-key-reused",
            "Idempotency-Key reused",
            "the Idempotency-Key was used for another request",
        )
        .field("Idempotency-Key"),
        WindowError::Store(s) => ApiError::internal(&s),
    }
}

/// Record a maintenance window. A planned one-off window must start at least the notice (1 h
/// by default, `[netwatch] maintenance_notice`) from now; a weekly window masks only from its
/// announcement on. An administrator may record an `emergency` window after the fact: it masks
/// its own times and is listed in every report. The window is on disk before the answer.
#[utoipa::path(post, path = "/network/maintenance", tag = "network", operation_id = "createMaintenance",
    params(("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended window")),
    request_body = MaintenanceBody,
    responses((status = 201, body = MaintenanceWindowView), (status = 200, description = "Retry", body = MaintenanceWindowView),
        (status = 403, description = "Only admin tokens record windows", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The network watch does not run here", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A rule is broken (too short notice, unknown node, bad schedule)", body = Problem, content_type = "application/problem+json")))]
pub async fn create_maintenance(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(body): ValidJson<MaintenanceBody>,
) -> Result<(StatusCode, Json<MaintenanceWindowView>), ApiError> {
    writer(&caller)?;
    let key = idempotency_key(&headers)?;
    let nw = watch(&state)?;
    let spec = window_spec(nw, &Viewer::All, &body)?;
    let request = serde_json::to_vec(&body).map_err(|e| ApiError::internal(&e))?;
    let key = RequestKey {
        principal: caller.id.to_string(),
        key: key.as_str().to_string(),
        request,
    };
    let r = nw
        .create_window(spec, &caller.name, Some(key))
        .await
        .map_err(window_error)?;
    let status = if r.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(MaintenanceWindowView::from(&r.window))))
}

/// Change a window: the change is recorded as its next version (the earlier ones stay), under
/// the same notice as a new window. Sending what the window already says changes nothing.
#[utoipa::path(put, path = "/network/maintenance/{id}", tag = "network", operation_id = "changeMaintenance",
    params(("id" = inline(contract::params::Id), Path, description = "Window id")),
    request_body = MaintenanceBody,
    responses((status = 200, body = MaintenanceWindowView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The window was deleted, or changed meanwhile", body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn change_maintenance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<MaintenanceBody>,
) -> Result<Json<MaintenanceWindowView>, ApiError> {
    writer(&caller)?;
    let nw = watch(&state)?;
    let id = path_id(&id, "maintenance window")?;
    let spec = window_spec(nw, &Viewer::All, &body)?;
    let r = nw
        .revise_window(id, Some(spec), &caller.name)
        .await
        .map_err(window_error)?;
    Ok(Json(MaintenanceWindowView::from(&r.window)))
}

/// Delete a window: recorded as its last version. A deleted window masks nothing, so the
/// downtime it hid counts again, except in months that have already ended.
#[utoipa::path(delete, path = "/network/maintenance/{id}", tag = "network", operation_id = "deleteMaintenance",
    params(("id" = inline(contract::params::Id), Path, description = "Window id")),
    responses((status = 204, description = "Deleted (also when it already was)"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn delete_maintenance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    writer(&caller)?;
    let nw = watch(&state)?;
    let id = path_id(&id, "maintenance window")?;
    match nw.revise_window(id, None, &caller.name).await {
        // Deleting again is what the first deletion did: a retry.
        Ok(_) | Err(WindowError::Refused(WindowRefusal::Deleted(_))) => Ok(StatusCode::NO_CONTENT),
        Err(e) => Err(window_error(e)),
    }
}

/// Every version of a window, oldest first, each as the window stood after it: who recorded
/// what and when.
#[utoipa::path(get, path = "/network/maintenance/{id}/versions", tag = "network", operation_id = "maintenanceVersions",
    params(("id" = inline(contract::params::Id), Path, description = "Window id")),
    responses((status = 200, body = [MaintenanceWindowView]),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn maintenance_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<MaintenanceWindowView>>, ApiError> {
    let viewer = reader(&caller)?;
    let nw = watch(&state)?;
    let id = path_id(&id, "maintenance window")?;
    let mine = nw
        .versions_of(id)
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let versions: Vec<MaintenanceWindowView> = (1..=mine.len())
        .filter_map(|k| maintenance::current(&mine[..k]).pop())
        .filter(|w| scope_region(nw, &w.scope).is_some_and(|r| viewer.sees(r)))
        .map(|w| MaintenanceWindowView::from(&w))
        .collect();
    if versions.is_empty() {
        return Err(ApiError::not_found(format!(
            "maintenance window {id} not found"
        )));
    }
    Ok(Json(versions))
}
