//! The network watch's HTTP API as an axum [`Router`], to be mounted under `/api/v1` behind the
//! platform's authentication (the router has none of its own).
//!
//! Routes: `GET /network/state`, `GET /network/availability?from=T&to=T`,
//! `GET /network/incidents?node=ID`, `GET /network/sla?month=YYYY-MM[&format=json|md|csv|html]`,
//! `GET|POST /network/maintenance`, `DELETE /network/maintenance/{id}`. Wire types live here and
//! are converted by hand from the core's types. Every client error is `application/problem+json`
//! with the offending field named; storage failures are logged in full and answered opaquely.

use crate::maintenance::{MaintenanceWindow, Schedule, Scope, WindowSpec};
use crate::monitor::Netwatch;
use crate::month::Month;
use crate::report::{self, Figures, Format, Line};
use crate::slice::{SliceLen, parse_duration};
use crate::windows::WindowError;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rendan_domain::access::Principal;
use rendan_domain::{NodeId, Region};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

/// Whose view a request reads: the platform's authentication puts the caller's
/// [`Principal`] in the request's extensions; a planner scoped to a region sees only that
/// region's nodes, incidents, windows and report lines, a principal without the right to read
/// operations (a crew, a channel) sees nothing, and a request without a principal (the router
/// tested alone) sees everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// Every region.
    All,
    /// One region.
    Region(Region),
    /// Nothing.
    Nothing,
}

impl Viewer {
    /// The view of a principal.
    pub fn of(principal: Option<&Principal>) -> Viewer {
        match principal {
            None => Viewer::All,
            Some(p) if !p.can_read_operations() => Viewer::Nothing,
            Some(p) => match p.role.region() {
                Some(r) => Viewer::Region(r.clone()),
                None => Viewer::All,
            },
        }
    }

    /// Whether this view includes `region`.
    pub fn sees(&self, region: &Region) -> bool {
        match self {
            Viewer::All => true,
            Viewer::Region(r) => r == region,
            Viewer::Nothing => false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Viewer::of(parts.extensions.get::<Principal>()))
    }
}

fn node_region<'a>(nw: &'a Netwatch, node: &NodeId) -> Option<&'a Region> {
    nw.config()
        .nodes
        .iter()
        .find(|n| &n.id == node)
        .map(|n| &n.region)
}

/// Keeps the lines of `f` this view includes.
fn scoped(mut f: Figures, viewer: &Viewer) -> Figures {
    f.nodes.retain(|l| viewer.sees(&l.region));
    f.regions.retain(|l| viewer.sees(&l.region));
    f
}

/// The router, state applied: mount it under `/api/v1`.
pub fn router(nw: Netwatch) -> Router {
    Router::new()
        .route("/network/state", get(state))
        .route("/network/availability", get(availability))
        .route("/network/incidents", get(incidents))
        .route("/network/sla", get(sla))
        .route(
            "/network/maintenance",
            get(list_maintenance).post(add_maintenance),
        )
        .route("/network/maintenance/{id}", delete(delete_maintenance))
        .with_state(nw)
}

/// An RFC 9457 problem answer.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// Problem type URI reference.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short summary.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// What exactly is wrong.
    pub detail: String,
    /// The offending request field, when there is one.
    pub field: Option<String>,
}

impl Problem {
    fn invalid(field: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: "/problems/invalid-input",
            title: "Invalid input",
            status: 400,
            detail: detail.into(),
            field: Some(field.to_string()),
        }
    }

    fn not_found(field: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: "/problems/not-found",
            title: "Not found",
            status: 404,
            detail: detail.into(),
            field: Some(field.to_string()),
        }
    }

    fn internal(cause: impl std::fmt::Display) -> Self {
        // The cause goes to the log, not to the client.
        tracing::error!("network watch API: {cause}");
        Problem {
            kind: "/problems/internal",
            title: "Internal error",
            status: 500,
            detail: "the network watch's storage failed; see the server log".into(),
            field: None,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

fn params(q: Params) -> Result<HashMap<String, String>, Problem> {
    q.map(|Query(m)| m)
        .map_err(|e| Problem::invalid("query", e.body_text()))
}

fn instant(p: &HashMap<String, String>, field: &str) -> Result<Timestamp, Problem> {
    let v = p
        .get(field)
        .ok_or_else(|| Problem::invalid(field, format!("{field} is required (RFC 3339)")))?;
    v.parse::<Timestamp>().map_err(|e| {
        Problem::invalid(
            field,
            format!("{field} must be an RFC 3339 instant such as 2026-10-01T00:00:00Z: {e}"),
        )
    })
}

fn node_param(nw: &Netwatch, field: &str, v: &str) -> Result<NodeId, Problem> {
    let id = NodeId::parse(v, field).map_err(|e| Problem::invalid(field, e.message))?;
    if nw.config().node(&id).is_none() {
        return Err(Problem::invalid(field, format!("unknown node {v:?}")));
    }
    Ok(id)
}

fn contract<'a>(
    nw: &'a Netwatch,
    p: &HashMap<String, String>,
) -> Result<&'a crate::contract::Contract, Problem> {
    let name = p.get("contract").map(String::as_str);
    nw.config().contract(name).ok_or_else(|| {
        Problem::invalid(
            "contract",
            format!("unknown contract {:?}", name.unwrap_or("")),
        )
    })
}

#[derive(Serialize)]
struct SlicesWire {
    up: u64,
    degraded: u64,
    down: u64,
    maintenance: u64,
    no_data: u64,
}

fn slices_wire(l: &Line, len: SliceLen) -> SlicesWire {
    let c = l.counts.in_slices(len);
    SlicesWire {
        up: c.up,
        degraded: c.degraded,
        down: c.down,
        maintenance: c.maintenance,
        no_data: c.no_data,
    }
}

fn line_wire(l: &Line, node: bool, len: SliceLen) -> Value {
    let mut v = json!({
        "id": l.id,
        "slices": slices_wire(l, len),
        "availability": l.availability,
        "target": l.target,
        "met": l.met,
        "allowed_down_min": l.allowed_down_min,
        "used_down_min": l.used_down_min,
        "maintenance_min": l.maintenance_min,
        "no_data_min": l.no_data_min,
        "incidents": l.incidents,
    });
    if node {
        v["region"] = json!(l.region.as_str());
        v["name"] = json!(l.name);
        if !l.classes.is_empty() {
            v["classes"] = l
                .classes
                .iter()
                .map(|c| {
                    json!({
                        "class": c.class, "rounds": c.rounds, "loss_pct": c.loss_pct,
                        "rtt_p50_ms": c.rtt_p50_ms, "rtt_p95_ms": c.rtt_p95_ms, "rtt_p99_ms": c.rtt_p99_ms,
                        "jitter_p50_ms": c.jitter_p50_ms, "jitter_p95_ms": c.jitter_p95_ms,
                    })
                })
                .collect();
        }
    }
    v
}

fn figures_wire(f: &Figures) -> Value {
    json!({
        "from": f.from.to_string(),
        "to": f.to.to_string(),
        "month": f.month.map(|m| m.to_string()),
        "contract": f.contract,
        "zone": f.zone,
        "slice_s": f.slice.secs(),
        "degraded_is_down": f.degraded_is_down,
        "nodes": f.nodes.iter().map(|l| line_wire(l, true, f.slice)).collect::<Vec<_>>(),
        "regions": f.regions.iter().map(|l| line_wire(l, false, f.slice)).collect::<Vec<_>>(),
    })
}

async fn state(State(nw): State<Netwatch>, viewer: Viewer) -> Response {
    let live = nw.live();
    let s = nw.stats();
    let nodes: Vec<Value> = nw
        .config()
        .nodes
        .iter()
        .filter(|n| viewer.sees(&n.region))
        .map(|n| {
            let l = live.get(&n.id);
            json!({
                "id": n.id.as_str(),
                "name": n.name,
                "region": n.region.as_str(),
                "agent": n.agent,
                "state": l.map_or("NO_DATA", |l| l.state.as_str()),
                "at": l.map(|l| l.at.to_string()),
                "reason": l.and_then(|l| l.reason.clone()),
                "tcp_ms": l.and_then(|l| l.tcp_ms),
                "incident": l.and_then(|l| l.incident),
            })
        })
        .collect();
    Json(json!({
        "slice_s": nw.config().slice.secs(),
        "nodes": nodes,
        "scheduler": {
            "rounds": s.rounds.load(Ordering::Relaxed),
            "late": s.late.load(Ordering::Relaxed),
            "skipped": s.skipped.load(Ordering::Relaxed),
            "max_late_ms": s.max_late_us.load(Ordering::Relaxed) as f64 / 1000.0,
            "slices_written": s.slices_written.load(Ordering::Relaxed),
            "late_results": s.late_results.load(Ordering::Relaxed),
        }
    }))
    .into_response()
}

async fn availability(
    State(nw): State<Netwatch>,
    viewer: Viewer,
    q: Params,
) -> Result<Response, Problem> {
    let p = params(q)?;
    let from = instant(&p, "from")?;
    let to = instant(&p, "to")?;
    if to <= from {
        return Err(Problem::invalid("to", "to must be after from"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * 400) {
        return Err(Problem::invalid(
            "to",
            "the range may span at most 400 days",
        ));
    }
    let c = contract(&nw, &p)?.clone();
    let f = report::figures(&nw, &c, from, to, false, nw.now())
        .await
        .map_err(Problem::internal)?;
    Ok(Json(figures_wire(&scoped(f, &viewer))).into_response())
}

async fn incidents(
    State(nw): State<Netwatch>,
    viewer: Viewer,
    q: Params,
) -> Result<Response, Problem> {
    let p = params(q)?;
    let node = p
        .get("node")
        .map(|v| node_param(&nw, "node", v))
        .transpose()?;
    // A node outside the caller's view is as unknown as a node outside the topology.
    if let Some(n) = &node
        && !node_region(&nw, n).is_some_and(|r| viewer.sees(r))
    {
        return Err(Problem::not_found("node", format!("unknown node {n}")));
    }
    let mut list = nw
        .store()
        .incidents(node.as_ref())
        .await
        .map_err(Problem::internal)?;
    list.retain(|i| node_region(&nw, &i.node).is_some_and(|r| viewer.sees(r)));
    let len = nw.config().slice;
    let out: Vec<Value> = list
        .iter()
        .map(|i| {
            let end = i.closed_at.unwrap_or_else(Timestamp::now);
            // The slices the outage touched, from the first failed round to the first good one.
            let slices = (len.floor(end) - len.floor(i.opened_at)) / len.secs()
                + i64::from(end.as_second() % len.secs() != 0 || end.subsec_nanosecond() != 0);
            json!({
                "id": i.id,
                "node": i.node.as_str(),
                "opened_at": i.opened_at.to_string(),
                "closed_at": i.closed_at.map(|t| t.to_string()),
                "slices": slices.max(1),
                "timeline": i.timeline.iter().map(|e| json!({
                    "at": e.at.to_string(), "kind": e.kind, "detail": e.detail,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(out).into_response())
}

async fn sla(State(nw): State<Netwatch>, viewer: Viewer, q: Params) -> Result<Response, Problem> {
    let p = params(q)?;
    let month: Month = p
        .get("month")
        .ok_or_else(|| Problem::invalid("month", "month is required, e.g. 2026-10"))?
        .parse()
        .map_err(|e: crate::month::BadMonth| Problem::invalid("month", e.to_string()))?;
    let format =
        match p.get("format").map(String::as_str) {
            None | Some("json") => None,
            Some(f) => Some(Format::parse(f).ok_or_else(|| {
                Problem::invalid("format", "format must be json, md, csv or html")
            })?),
        };
    let c = contract(&nw, &p)?.clone();
    let f = report::month_figures(&nw, &c, month, nw.now())
        .await
        .map_err(|e| match e {
            report::ReportError::Month(m) => Problem::invalid("month", m),
            report::ReportError::Store(s) => Problem::internal(s),
        })?;
    let f = scoped(f, &viewer);
    Ok(match format {
        None => Json(figures_wire(&f)).into_response(),
        Some(fmt) => (
            [(header::CONTENT_TYPE, fmt.content_type())],
            report::render(&f, fmt),
        )
            .into_response(),
    })
}

fn window_wire(w: &MaintenanceWindow) -> Value {
    let mut v = json!({
        "id": w.id,
        "note": w.note,
        "version": w.version,
        "emergency": w.emergency,
        "created_at": w.created.0.to_string(),
        "created_by": w.created.1,
        "changed_at": w.changed.0.to_string(),
        "changed_by": w.changed.1,
        "deleted_at": w.deleted.as_ref().map(|d| d.0.to_string()),
        "deleted_by": w.deleted.as_ref().map(|d| d.1.clone()),
    });
    match &w.scope {
        Scope::Node(n) => v["node"] = json!(n.as_str()),
        Scope::Region(r) => v["region"] = json!(r.as_str()),
    }
    match &w.schedule {
        Schedule::OneOff { start, end } => {
            v["start"] = json!(start.to_string());
            v["end"] = json!(end.to_string());
        }
        Schedule::Weekly {
            weekday,
            at,
            length,
            tz,
        } => {
            v["weekly"] = json!({
                "weekday": format!("{weekday:?}").to_lowercase(),
                "at": at.strftime("%H:%M").to_string(),
                "duration": format!("{:#}", length),
                "tz": tz.iana_name().unwrap_or("UTC"),
            });
        }
    }
    v
}

async fn list_maintenance(State(nw): State<Netwatch>, viewer: Viewer) -> Result<Response, Problem> {
    let mut list = nw.windows().await.map_err(Problem::internal)?;
    list.retain(|w| w.deleted.is_none());
    list.retain(|w| match &w.scope {
        Scope::Node(n) => node_region(&nw, n).is_some_and(|r| viewer.sees(r)),
        Scope::Region(r) => viewer.sees(r),
    });
    Ok(Json(list.iter().map(window_wire).collect::<Vec<_>>()).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeeklyBody {
    weekday: String,
    at: String,
    duration: String,
    tz: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MaintenanceBody {
    node: Option<String>,
    region: Option<String>,
    start: Option<String>,
    end: Option<String>,
    weekly: Option<WeeklyBody>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    emergency: bool,
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

fn parse_window(nw: &Netwatch, b: MaintenanceBody) -> Result<WindowSpec, Problem> {
    let scope = match (&b.node, &b.region) {
        (Some(n), None) => Scope::Node(node_param(nw, "node", n)?),
        (None, Some(r)) => {
            let region =
                Region::parse(r, "region").map_err(|e| Problem::invalid("region", e.message))?;
            if !nw.config().nodes.iter().any(|n| n.region == region) {
                return Err(Problem::invalid(
                    "region",
                    format!("no node is in region {r:?}"),
                ));
            }
            Scope::Region(region)
        }
        _ => {
            return Err(Problem::invalid(
                "node",
                "give exactly one of node or region",
            ));
        }
    };
    let schedule = match (&b.start, &b.end, b.weekly) {
        (Some(s), Some(e), None) => {
            let parse = |f: &str, v: &str| {
                v.parse::<Timestamp>().map_err(|err| {
                    Problem::invalid(f, format!("{f} must be an RFC 3339 instant: {err}"))
                })
            };
            let (start, end) = (parse("start", s)?, parse("end", e)?);
            if end <= start {
                return Err(Problem::invalid("end", "end must be after start"));
            }
            Schedule::OneOff { start, end }
        }
        (None, None, Some(w)) => {
            let weekday = weekday(&w.weekday)
                .ok_or_else(|| Problem::invalid("weekly.weekday", "a day name such as sunday"))?;
            let at = w.at.parse::<Time>().map_err(|e| {
                Problem::invalid("weekly.at", format!("a local time such as 02:00: {e}"))
            })?;
            let length =
                parse_duration(&w.duration).map_err(|m| Problem::invalid("weekly.duration", m))?;
            if length > SignedDuration::from_hours(24 * 7) {
                return Err(Problem::invalid("weekly.duration", "at most one week"));
            }
            let tz = TimeZone::get(&w.tz).map_err(|e| {
                Problem::invalid(
                    "weekly.tz",
                    format!("an IANA zone such as Europe/Rome: {e}"),
                )
            })?;
            Schedule::Weekly {
                weekday,
                at,
                length,
                tz,
            }
        }
        _ => {
            return Err(Problem::invalid(
                "start",
                "give start and end (one-off) or weekly {weekday, at, duration, tz}",
            ));
        }
    };
    Ok(WindowSpec {
        scope,
        schedule,
        note: b.note,
        emergency: b.emergency,
    })
}

fn who(principal: Option<&Principal>) -> String {
    principal.map_or_else(|| "api".to_string(), |p| p.name.clone())
}

fn window_problem(e: WindowError) -> Problem {
    match e {
        WindowError::Refused(r @ crate::maintenance::WindowRefusal::TooLate { .. }) => {
            Problem::invalid("start", r.to_string())
        }
        WindowError::Refused(r) => Problem::not_found("id", r.to_string()),
        WindowError::Unknown(id) => Problem::not_found("id", format!("no maintenance window {id}")),
        WindowError::Raced(id) => Problem::invalid("id", format!("window {id} changed meanwhile")),
        WindowError::Store(s) => Problem::internal(s),
    }
}

async fn add_maintenance(
    State(nw): State<Netwatch>,
    principal: Option<axum::Extension<Principal>>,
    body: Bytes,
) -> Result<Response, Problem> {
    let principal = principal.map(|axum::Extension(p)| p);
    let b: MaintenanceBody =
        serde_json::from_slice(&body).map_err(|e| Problem::invalid("body", e.to_string()))?;
    let spec = parse_window(&nw, b)?;
    if spec.emergency
        && principal
            .as_ref()
            .is_some_and(|p| !matches!(p.role, rendan_domain::access::Role::Admin))
    {
        return Err(Problem::invalid(
            "emergency",
            "only an administrator may record an emergency window",
        ));
    }
    let w = nw
        .create_window(spec, &who(principal.as_ref()))
        .await
        .map_err(window_problem)?;
    Ok((StatusCode::CREATED, Json(window_wire(&w))).into_response())
}

async fn delete_maintenance(
    State(nw): State<Netwatch>,
    principal: Option<axum::Extension<Principal>>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let principal = principal.map(|axum::Extension(p)| p);
    let id: i64 = id
        .parse()
        .map_err(|_| Problem::invalid("id", "a maintenance window id is an integer"))?;
    nw.revise_window(id, None, &who(principal.as_ref()))
        .await
        .map_err(window_problem)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
