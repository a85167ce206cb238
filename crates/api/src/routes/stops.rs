//! What crews report from the door: `POST /stops/{order}/events` and the visits they shape.

use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{ValidJson, path_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rendan_domain::crew::format_time;
use rendan_domain::stop::{Flag, RawStopEvent, Reported, StopEvent};
use rendan_store::StopRecord;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `StopEventBody.proof`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofBody {
    /// Digest of the photo taken at the door.
    #[serde(default)]
    #[schema(schema_with = contract::sha256)]
    pub photo_sha256: Option<String>,
    /// Digest of the customer's signature.
    #[serde(default)]
    #[schema(schema_with = contract::sha256)]
    pub signature_sha256: Option<String>,
}

/// `POST /stops/{order}/events` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"event_id": "0f8fad5b-d9cb-469f-a165-70867728950e", "kind": "arrived",
    "at": "2026-12-10T10:12:00+01:00", "lat": 45.81, "lon": 8.83}))]
pub struct StopEventBody {
    /// Chosen by the device; the same id again is a retry.
    #[schema(schema_with = contract::event_id)]
    pub event_id: String,
    /// What happened.
    #[schema(schema_with = contract::stop_kind)]
    pub kind: String,
    /// When, by the device's clock.
    #[schema(schema_with = contract::instant)]
    pub at: String,
    /// Where the device was.
    #[schema(schema_with = contract::latitude)]
    pub lat: f64,
    /// Where the device was.
    #[schema(schema_with = contract::longitude)]
    pub lon: f64,
    /// Why the visit failed: required for `failed`, refused otherwise.
    #[serde(default)]
    #[schema(schema_with = contract::failure_reason)]
    pub reason: Option<String>,
    /// Proof kept by the crew.
    #[serde(default)]
    pub proof: Option<ProofBody>,
}

/// A stop event as stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct StopEventView {
    /// The device's id.
    pub event_id: String,
    /// What happened.
    pub kind: String,
    /// Device time, RFC 3339.
    pub at: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Why it failed, for `failed`.
    pub reason: Option<String>,
    /// Proof digests, if sent.
    pub proof: Option<ProofBody>,
    /// The principal that posted it.
    pub posted_by: i64,
    /// When rendan received it, RFC 3339.
    pub received_at: String,
    /// Why it changed nothing, if it did not: `repeated` (an earlier event of its kind came)
    /// or `contradicts_outcome`.
    pub flag: Option<String>,
}

/// A visit that went out, as its stop events left it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitView {
    /// The order.
    pub order: i64,
    /// Local date at the depot.
    pub date: String,
    /// The depot.
    pub depot: String,
    /// The crew.
    pub crew: i64,
    /// Position in the crew's route (0: first).
    pub position: usize,
    /// Booked window start, HH:MM local.
    pub window_start: String,
    /// Booked window end, HH:MM local.
    pub window_end: String,
    /// When it went out for delivery, RFC 3339.
    pub dispatched_at: String,
    /// `pending`, `arrived`, `delivered`, `failed` or `installed`, folded from its events.
    pub outcome: String,
    /// Why it failed.
    pub reason: Option<String>,
    /// Who caused the failure: `customer` or `company`.
    pub cause: Option<String>,
    /// First event at the door.
    pub arrived_at: Option<String>,
    /// Goods handed over.
    pub delivered_at: Option<String>,
    /// Installed.
    pub installed_at: Option<String>,
    /// Failed.
    pub failed_at: Option<String>,
    /// Old appliance collected.
    pub haul_away_at: Option<String>,
    /// Why the events' outcome could not change the order (it had moved on), if so.
    pub unapplied: Option<String>,
    /// The order's state now.
    #[schema(schema_with = contract::order_status)]
    pub order_status: String,
    /// Its events, in device-time order.
    pub events: Vec<StopEventView>,
}

fn event_view(r: &Reported, flag: Option<Flag>) -> StopEventView {
    let e = &r.event;
    StopEventView {
        event_id: e.id.to_string(),
        kind: e.kind.as_str().to_string(),
        at: e.at.to_string(),
        lat: e.location.lat(),
        lon: e.location.lon(),
        reason: e.reason.map(|r| r.as_str().to_string()),
        proof: e.proof.map(|p| ProofBody {
            photo_sha256: p.photo_sha256.map(|d| d.to_hex()),
            signature_sha256: p.signature_sha256.map(|d| d.to_hex()),
        }),
        posted_by: r.posted_by,
        received_at: r.received_at.to_string(),
        flag: flag.map(|f| f.as_str().to_string()),
    }
}

impl From<&StopRecord> for VisitView {
    fn from(r: &StopRecord) -> Self {
        let a = &r.attempt;
        let s = &r.state;
        let at = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
        let reason = s.outcome().reason();
        VisitView {
            order: a.order,
            date: a.date.to_string(),
            depot: a.depot.to_string(),
            crew: a.crew,
            position: a.position,
            window_start: format_time(a.window.start),
            window_end: format_time(a.window.end),
            dispatched_at: a.dispatched_at.to_string(),
            outcome: s.outcome().as_str().to_string(),
            reason: reason.map(|r| r.as_str().to_string()),
            cause: reason.map(|r| r.cause().as_str().to_string()),
            arrived_at: at(s.arrived_at),
            delivered_at: at(s.delivered_at),
            installed_at: at(s.installed_at),
            failed_at: at(s.failed_at),
            haul_away_at: at(s.haul_away_at),
            unapplied: a.unapplied.clone(),
            order_status: r.status.as_str().to_string(),
            events: r
                .events
                .iter()
                .map(|e| {
                    let flag = s
                        .flagged
                        .iter()
                        .find(|(id, _)| *id == e.event.id)
                        .map(|(_, f)| *f);
                    event_view(e, flag)
                })
                .collect(),
        }
    }
}

/// Report what happened at a stop.
///
/// Crews work offline: events may arrive late, twice and out of order. The `event_id` makes a
/// retry a no-op (200 with the visit as it is); the device time orders events and names the
/// visit (the order's visit on that local date). The same events in any order give the same
/// visit and order. An event that contradicts the visit's outcome is kept and flagged, not
/// applied. A crew token may report only for stops on its own published routes (404
/// otherwise); admins for any.
#[utoipa::path(post, path = "/stops/{order}/events", tag = "delivery", operation_id = "reportStopEvent",
    params(("order" = inline(contract::params::Id), Path, description = "Order id")),
    request_body = StopEventBody,
    responses(
        (status = 201, body = VisitView),
        (status = 200, description = "A retry of an event already recorded: the visit as it is", body = VisitView),
        (status = 403, description = "Only crew and admin tokens report stop events", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event_id was used for another event", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule, the time is ahead of rendan's clock, or the order had no visit that day", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(order): Path<String>,
    ValidJson(body): ValidJson<StopEventBody>,
) -> Result<(StatusCode, Json<VisitView>), ApiError> {
    let order = path_id(&order, "order")?;
    let proof = body.proof.as_ref();
    let event = StopEvent::new(RawStopEvent {
        event_id: &body.event_id,
        kind: &body.kind,
        at: &body.at,
        lat: body.lat,
        lon: body.lon,
        reason: body.reason.as_deref(),
        photo_sha256: proof.and_then(|p| p.photo_sha256.as_deref()),
        signature_sha256: proof.and_then(|p| p.signature_sha256.as_deref()),
        proof: proof.is_some(),
    })?;
    let outcome = state.cases().report_stop(&caller, order, event).await?;
    let status = if outcome.is_replay() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(VisitView::from(&outcome.into_inner()))))
}

/// Every visit of an order that went out, with its events.
///
/// Readable by those who may see the order, and by a crew for the visits it made.
#[utoipa::path(get, path = "/stops/{order}", tag = "delivery", operation_id = "listVisits",
    params(("order" = inline(contract::params::Id), Path, description = "Order id")),
    responses((status = 200, body = Vec<VisitView>)))]
pub async fn visits(
    State(state): State<AppState>,
    caller: Caller,
    Path(order): Path<String>,
) -> Result<Json<Vec<VisitView>>, ApiError> {
    let order = path_id(&order, "order")?;
    let visits = state.cases().visits(&caller, order).await?;
    Ok(Json(visits.iter().map(VisitView::from).collect()))
}
