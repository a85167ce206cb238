//! Delivery and installation: crews, slots, appointments and the plans of depot-days.

use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{Problems, QueryMap, ValidJson, idempotency_key, param, path_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use jiff::civil::Date;
use rendan_dispatch::{CrewDay, clock};
use rendan_domain::appointment::Appointment;
use rendan_domain::crew::{Crew, NewCrew, RawCrew, format_time, parse_time};
use rendan_domain::{Invalid, Site};
use rendan_usecases::delivery::{DayPlan, MAX_SLOT_DAYS};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// A field that may be absent (`None`), `null` (`Some(None)`) or a value.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A shift in the depot's local time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftBody {
    /// Leaves the depot, HH:MM.
    #[schema(schema_with = contract::time_of_day)]
    pub start: String,
    /// Back at the depot, HH:MM.
    #[schema(schema_with = contract::time_of_day)]
    pub end: String,
}

/// The shift of each weekday: absent, the default (08:00–18:00 Monday to Saturday, Sunday
/// off); `null`, a day off.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WeekBody {
    /// Monday.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ShiftBody>)]
    pub mon: Option<Option<ShiftBody>>,
    /// Tuesday.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ShiftBody>)]
    pub tue: Option<Option<ShiftBody>>,
    /// Wednesday.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ShiftBody>)]
    pub wed: Option<Option<ShiftBody>>,
    /// Thursday.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ShiftBody>)]
    pub thu: Option<Option<ShiftBody>>,
    /// Friday.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ShiftBody>)]
    pub fri: Option<Option<ShiftBody>>,
    /// Saturday.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ShiftBody>)]
    pub sat: Option<Option<ShiftBody>>,
    /// Sunday.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<ShiftBody>)]
    pub sun: Option<Option<ShiftBody>>,
}

/// A truck's capacity.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TruckBody {
    /// Payload, kg.
    #[schema(schema_with = contract::truck_capacity)]
    pub kg: f64,
    /// Load space, m³.
    #[schema(schema_with = contract::truck_capacity)]
    pub m3: f64,
}

/// `POST /crews` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "depot": "dp-varese", "name": "Varese 4", "skills": ["ac-certified", "wall-mount"],
    "truck": {"kg": 1200, "m3": 16}, "shifts": {"sat": {"start": "08:00", "end": "13:00"}},
    "days_off": ["2026-12-24"]
}))]
pub struct CrewBody {
    /// The depot its truck starts from.
    #[schema(value_type = contract::Depot)]
    pub depot: String,
    /// Name, unique at the depot.
    #[schema(schema_with = contract::crew_name)]
    pub name: String,
    /// Skills.
    #[serde(default)]
    #[schema(schema_with = contract::skills)]
    pub skills: Vec<String>,
    /// Its truck.
    pub truck: TruckBody,
    /// Shifts per weekday.
    #[serde(default)]
    pub shifts: Option<WeekBody>,
    /// Dates off.
    #[serde(default)]
    #[schema(schema_with = contract::days_off)]
    pub days_off: Vec<String>,
}

/// A crew as returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CrewView {
    /// Id.
    pub id: i64,
    /// Depot.
    pub depot: String,
    /// Name.
    pub name: String,
    /// Skills.
    pub skills: Vec<String>,
    /// Truck.
    pub truck: TruckBody,
    /// The shift of each weekday (`null`: not working).
    pub shifts: WeekView,
    /// Dates off.
    pub days_off: Vec<String>,
}

/// A crew's week as returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WeekView {
    /// Monday.
    pub mon: Option<ShiftView>,
    /// Tuesday.
    pub tue: Option<ShiftView>,
    /// Wednesday.
    pub wed: Option<ShiftView>,
    /// Thursday.
    pub thu: Option<ShiftView>,
    /// Friday.
    pub fri: Option<ShiftView>,
    /// Saturday.
    pub sat: Option<ShiftView>,
    /// Sunday.
    pub sun: Option<ShiftView>,
}

/// A shift as returned.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShiftView {
    /// HH:MM.
    pub start: String,
    /// HH:MM.
    pub end: String,
}

impl From<&Crew> for CrewView {
    fn from(c: &Crew) -> Self {
        CrewView {
            id: c.id,
            depot: c.depot.to_string(),
            name: c.name.clone(),
            skills: c.skills.iter().map(ToString::to_string).collect(),
            truck: TruckBody {
                kg: c.truck.kg,
                m3: c.truck.m3,
            },
            shifts: {
                let d = |i: usize| {
                    c.week.0[i].map(|s| ShiftView {
                        start: format_time(s.start),
                        end: format_time(s.end),
                    })
                };
                WeekView {
                    mon: d(0),
                    tue: d(1),
                    wed: d(2),
                    thu: d(3),
                    fri: d(4),
                    sat: d(5),
                    sun: d(6),
                }
            },
            days_off: c.days_off.iter().map(ToString::to_string).collect(),
        }
    }
}

fn new_crew(body: &CrewBody) -> Result<NewCrew, rendan_domain::Invalids> {
    let w = body.shifts.clone().unwrap_or_default();
    let day = |d: &Option<Option<ShiftBody>>| -> Option<Option<(String, String)>> {
        d.as_ref()
            .map(|s| s.as_ref().map(|s| (s.start.clone(), s.end.clone())))
    };
    let days = [
        day(&w.mon),
        day(&w.tue),
        day(&w.wed),
        day(&w.thu),
        day(&w.fri),
        day(&w.sat),
        day(&w.sun),
    ];
    let week: [Option<Option<(&str, &str)>>; 7] = std::array::from_fn(|i| {
        days[i]
            .as_ref()
            .map(|s| s.as_ref().map(|(a, b)| (a.as_str(), b.as_str())))
    });
    NewCrew::new(&RawCrew {
        name: &body.name,
        skills: &body.skills,
        kg: body.truck.kg,
        m3: body.truck.m3,
        week,
        days_off: &body.days_off,
    })
}

/// Register a crew at a depot.
#[utoipa::path(post, path = "/crews", tag = "delivery", operation_id = "createCrew",
    params(("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended crew")),
    request_body = CrewBody,
    responses(
        (status = 201, body = CrewView),
        (status = 200, description = "A retry: the crew the first request created", body = CrewView),
        (status = 403, description = "The depot is outside this token's region, or a channel token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A crew of that name exists at the depot, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_crew(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(body): ValidJson<CrewBody>,
) -> Result<(StatusCode, Json<CrewView>), ApiError> {
    let cases = state.cases();
    let mut p = Problems::default();
    let depot = p.take(cases.depot(&body.depot, "depot"));
    // The contract's limit applies to the name as sent; the domain counts after trimming.
    p.take(contract::within(
        &body.name,
        rendan_domain::crew::NAME_MAX,
        "name",
    ));
    let crew = match new_crew(&body) {
        Ok(c) => Some(c),
        Err(errors) => {
            for e in errors.0 {
                p.take::<()>(Err(e));
            }
            None
        }
    };
    p.finish()?;
    let key = idempotency_key(&headers)?;
    let (Some(depot), Some(crew)) = (depot, crew) else {
        return Err(ApiError::invalid("body", "invalid crew"));
    };
    let outcome = cases.create_crew(&caller, key, &depot, crew).await?;
    let status = if outcome.is_replay() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(CrewView::from(&outcome.into_inner()))))
}

/// Crews, of one depot or of every depot the token may plan.
#[utoipa::path(get, path = "/crews", tag = "delivery", operation_id = "listCrews",
    params(("depot" = Option<contract::Depot>, Query, description = "Only the crews of this depot")),
    responses((status = 200, body = [CrewView]),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list_crews(
    State(state): State<AppState>,
    caller: Caller,
    q: QueryMap,
) -> Result<Json<Vec<CrewView>>, ApiError> {
    let q = q.only(&["depot"])?;
    let cases = state.cases();
    let mut p = Problems::default();
    let depot = p
        .take(param(&q, "depot", |v, f| cases.depot(v, f)))
        .flatten();
    p.finish()?;
    let crews = cases.crews(&caller, depot.as_ref()).await?;
    Ok(Json(crews.iter().map(CrewView::from).collect()))
}

fn depot_in_path(state: &AppState, raw: &str) -> Result<Site, ApiError> {
    state
        .cases()
        .depot(raw, "id")
        .map_err(|_| ApiError::not_found(format!("depot {raw} not found")))
}

fn date_in_path(raw: &str) -> Result<Date, ApiError> {
    parse_date(raw, "date").map_err(|_| ApiError::not_found(format!("no plan for {raw}")))
}

pub(crate) fn parse_date(value: &str, field: &str) -> Result<Date, Invalid> {
    value
        .parse::<Date>()
        .ok()
        .filter(|d| d.to_string() == value)
        .ok_or_else(|| {
            Invalid::new(
                field,
                format!("expected a date as YYYY-MM-DD, got {value:?}"),
            )
        })
}

/// The crews of one depot.
#[utoipa::path(get, path = "/depots/{id}/crews", tag = "delivery", operation_id = "depotCrews",
    params(("id" = contract::Depot, Path, description = "Depot id")),
    responses((status = 200, body = [CrewView]),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn depot_crews(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<CrewView>>, ApiError> {
    let depot = depot_in_path(&state, &id)?;
    let crews = state.cases().crews(&caller, Some(&depot)).await?;
    Ok(Json(crews.iter().map(CrewView::from).collect()))
}

/// A window the plan can keep.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlotView {
    /// Local date, YYYY-MM-DD.
    pub date: String,
    /// HH:MM, local.
    pub start: String,
    /// HH:MM, local.
    pub end: String,
    /// The depot whose crew would come.
    pub depot: String,
}

/// The windows a visit to the order can be booked in: goods ready, a crew with the skills, a
/// truck with the room, a shift that covers it and a place in that day's plan beside every
/// visit already booked. An empty list when nothing fits in the days asked for.
#[utoipa::path(get, path = "/orders/{id}/slots", tag = "delivery", operation_id = "orderSlots",
    params(("id" = inline(contract::params::Id), Path, description = "Order id"),
        ("from" = inline(contract::params::Date), Query, description = "First local date at the depot, at most 183 days ahead"),
        ("days" = inline(Option<contract::params::Days>), Query, description = "How many days, 1 to 14 (default 7)")),
    responses((status = 200, body = [SlotView]),
        (status = 409, description = "The order cannot be booked in these days; `reason` says why: `state` (cancelled, already booked), `area` (no depot serves the customer), `not_ready` (its goods reach the depot after the last day asked for; `detail` names the first date)", body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn slots(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<Vec<SlotView>>, ApiError> {
    let id = path_id(&id, "order")?;
    let q = q.only(&["from", "days"])?;
    let mut p = Problems::default();
    let from = match q.get("from") {
        Some(v) => p.take(parse_date(v, "from")),
        None => p.take::<Date>(Err(Invalid::new("from", "the first date is required"))),
    };
    let days = p
        .take(param(&q, "days", |v, f| {
            v.parse::<u32>()
                .ok()
                .filter(|d| (1..=MAX_SLOT_DAYS).contains(d))
                .ok_or_else(|| Invalid::new(f, format!("must be between 1 and {MAX_SLOT_DAYS}")))
        }))
        .flatten()
        .unwrap_or(7);
    p.finish()?;
    let Some(from) = from else {
        return Err(ApiError::invalid("from", "the first date is required"));
    };
    let slots = state.cases().slots(&caller, id, from, days).await?;
    Ok(Json(
        slots
            .into_iter()
            .map(|s| SlotView {
                date: s.date.to_string(),
                start: format_time(s.window.start),
                end: format_time(s.window.end),
                depot: s.depot.to_string(),
            })
            .collect(),
    ))
}

/// `POST /orders/{id}/appointment` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"date": "2026-12-10", "start": "10:00"}))]
pub struct AppointmentBody {
    /// Local date, YYYY-MM-DD.
    #[schema(schema_with = contract::date)]
    pub date: String,
    /// Start of one of the depot's windows, HH:MM.
    #[schema(schema_with = contract::time_of_day)]
    pub start: String,
}

/// A booked visit.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppointmentView {
    /// The order.
    pub order: i64,
    /// Local date.
    pub date: String,
    /// HH:MM.
    pub start: String,
    /// HH:MM.
    pub end: String,
    /// Depot.
    pub depot: String,
    /// The crew the current plan gives it (may change until the day is published).
    pub crew: i64,
}

impl From<&Appointment> for AppointmentView {
    fn from(a: &Appointment) -> Self {
        AppointmentView {
            order: a.order,
            date: a.date.to_string(),
            start: format_time(a.window.start),
            end: format_time(a.window.end),
            depot: a.depot.to_string(),
            crew: a.crew,
        }
    }
}

/// Book a visit in one of the windows the order is offered.
#[utoipa::path(post, path = "/orders/{id}/appointment", tag = "delivery", operation_id = "bookVisit",
    params(("id" = inline(contract::params::Id), Path, description = "Order id"),
        ("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended booking")),
    request_body = AppointmentBody,
    responses(
        (status = 201, body = AppointmentView),
        (status = 200, description = "A retry: the appointment the first request booked", body = AppointmentView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The window cannot be kept, or the order cannot be booked; `reason` says why: `not_ready`, `skills`, `weight`, `volume`, `shift`, `window_full`, `published`, `state`, `area`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A date already begun or more than 183 days ahead at the depot, or a start that is not one of the depot's windows", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn book(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<AppointmentBody>,
) -> Result<(StatusCode, Json<AppointmentView>), ApiError> {
    let id = path_id(&id, "order")?;
    let mut p = Problems::default();
    let date = p.take(parse_date(&body.date, "date"));
    let start = p.take(parse_time(&body.start, "start"));
    p.finish()?;
    let key = idempotency_key(&headers)?;
    let (Some(date), Some(start)) = (date, start) else {
        return Err(ApiError::invalid("body", "invalid appointment"));
    };
    let outcome = state.cases().book(&caller, key, id, date, start).await?;
    let status = if outcome.is_replay() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(AppointmentView::from(&outcome.into_inner()))))
}

/// The order's appointment.
#[utoipa::path(get, path = "/orders/{id}/appointment", tag = "delivery", operation_id = "getAppointment",
    params(("id" = inline(contract::params::Id), Path, description = "Order id")),
    responses((status = 200, body = AppointmentView)))]
pub async fn appointment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AppointmentView>, ApiError> {
    let id = path_id(&id, "order")?;
    let a = state.cases().appointment(&caller, id).await?;
    Ok(Json(AppointmentView::from(&a)))
}

/// Cancel the order's appointment; its capacity is free again.
#[utoipa::path(delete, path = "/orders/{id}/appointment", tag = "delivery", operation_id = "cancelVisit",
    params(("id" = inline(contract::params::Id), Path, description = "Order id")),
    responses((status = 200, description = "The order without its appointment", body = super::orders::OrderView),
        (status = 409, description = "The day's plan is published (`reason`)", body = Problem, content_type = "application/problem+json")))]
pub async fn unbook(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<super::orders::OrderView>, ApiError> {
    let id = path_id(&id, "order")?;
    // DELETE is idempotent by itself (a second one finds no appointment: 404); a key makes a
    // retry answer what the first one did.
    let key = match headers.get("idempotency-key") {
        Some(_) => Some(idempotency_key(&headers)?),
        None => None,
    };
    let order = state.cases().unbook(&caller, key, id).await?.into_inner();
    Ok(Json(super::orders::OrderView::from(&order)))
}

/// A stop of a crew's day.
#[derive(Debug, Serialize, ToSchema)]
pub struct StopView {
    /// The order visited.
    pub order: i64,
    /// Arrival, HH:MM local.
    pub arrival: String,
    /// Work starts, HH:MM.
    pub start: String,
    /// Work ends, HH:MM.
    pub end: String,
    /// The booked window.
    pub window: WindowView,
}

/// A window.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowView {
    /// HH:MM.
    pub start: String,
    /// HH:MM.
    pub end: String,
}

/// A crew's day.
#[derive(Debug, Serialize, ToSchema)]
pub struct RouteView {
    /// The crew.
    pub crew: i64,
    /// Leaves the depot, HH:MM.
    pub departure: String,
    /// Back at the depot, HH:MM.
    pub back: String,
    /// Kilometres.
    pub distance_km: f64,
    /// Stops in order.
    pub stops: Vec<StopView>,
}

impl From<&CrewDay> for RouteView {
    fn from(r: &CrewDay) -> Self {
        RouteView {
            crew: r.crew,
            departure: clock(r.departure),
            back: clock(r.back),
            distance_km: (r.km * 100.0).round() / 100.0,
            stops: r
                .stops
                .iter()
                .map(|s| StopView {
                    order: s.order,
                    arrival: clock(s.arrival),
                    start: clock(s.start),
                    end: clock(s.end),
                    window: WindowView {
                        start: format_time(s.window.start),
                        end: format_time(s.window.end),
                    },
                })
                .collect(),
        }
    }
}

/// A depot-day's plan.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// Depot.
    pub depot: String,
    /// Local date.
    pub date: String,
    /// `draft` (takes bookings) or `published`.
    #[schema(schema_with = contract::plan_status)]
    pub status: String,
    /// Incremented by every change.
    pub version: i64,
    /// The crews' days.
    pub routes: Vec<RouteView>,
    /// Kilometres driven by all crews.
    pub distance_km: f64,
    /// The engine's cost of the plan.
    pub cost: f64,
}

impl From<&DayPlan> for PlanView {
    fn from(p: &DayPlan) -> Self {
        PlanView {
            depot: p.day.depot.to_string(),
            date: p.day.date.to_string(),
            status: p.day.status.as_str().to_string(),
            version: p.day.version,
            routes: p.schedule.routes.iter().map(RouteView::from).collect(),
            distance_km: (p.schedule.km * 100.0).round() / 100.0,
            cost: (p.schedule.cost * 100.0).round() / 100.0,
        }
    }
}

/// The plan of a depot-day.
#[utoipa::path(get, path = "/depots/{id}/plans/{date}", tag = "delivery", operation_id = "getPlan",
    params(("id" = contract::Depot, Path, description = "Depot id"),
        ("date" = inline(contract::params::Date), Path, description = "Local date")),
    responses((status = 200, body = PlanView),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn plan(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, date)): Path<(String, String)>,
) -> Result<Json<PlanView>, ApiError> {
    let depot = depot_in_path(&state, &id)?;
    let date = date_in_path(&date)?;
    let plan = state.cases().plan(&caller, &depot, date).await?;
    Ok(Json(PlanView::from(&plan)))
}

/// Re-plan every booked visit of the day with the route engine (10 s at most); the current
/// plan stays when the engine finds nothing cheaper, and no visit leaves its window.
#[utoipa::path(post, path = "/depots/{id}/plans/{date}/optimise", tag = "delivery", operation_id = "optimisePlan",
    params(("id" = contract::Depot, Path, description = "Depot id"),
        ("date" = inline(contract::params::Date), Path, description = "Local date"),
        ("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended optimisation; a retry answers the plan as it now is without optimising again"),
        ("seconds" = inline(Option<contract::params::Seconds>), Query, description = "How long the engine may search, 1 to 10 (default 10); a small day ends sooner")),
    responses((status = 200, body = PlanView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The plan is published (`reason`), or kept changing", body = Problem, content_type = "application/problem+json")))]
pub async fn optimise(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, date)): Path<(String, String)>,
    q: QueryMap,
) -> Result<Json<PlanView>, ApiError> {
    let depot = depot_in_path(&state, &id)?;
    let date = date_in_path(&date)?;
    let q = q.only(&["seconds"])?;
    let mut p = Problems::default();
    let seconds = p
        .take(param(&q, "seconds", |v, f| {
            v.parse::<u64>()
                .ok()
                .filter(|s| (1..=10).contains(s))
                .ok_or_else(|| Invalid::new(f, "must be between 1 and 10"))
        }))
        .flatten()
        .unwrap_or(10);
    p.finish()?;
    let key = idempotency_key(&headers)?;
    let plan = state
        .cases()
        .optimise_for(
            &caller,
            Some(key),
            &depot,
            date,
            std::time::Duration::from_secs(seconds),
        )
        .await?;
    Ok(Json(PlanView::from(&plan.into_inner())))
}

/// Publish the day's plan: no more bookings that day; on the day its orders go out for
/// delivery.
#[utoipa::path(post, path = "/depots/{id}/plans/{date}/publish", tag = "delivery", operation_id = "publishPlan",
    params(("id" = contract::Depot, Path, description = "Depot id"),
        ("date" = inline(contract::params::Date), Path, description = "Local date"),
        ("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended publication; a retry answers the plan as it now is")),
    responses((status = 200, body = PlanView),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, date)): Path<(String, String)>,
) -> Result<Json<PlanView>, ApiError> {
    let depot = depot_in_path(&state, &id)?;
    let date = date_in_path(&date)?;
    let key = idempotency_key(&headers)?;
    let plan = state
        .cases()
        .publish(&caller, Some(key), &depot, date)
        .await?;
    Ok(Json(PlanView::from(&plan.into_inner())))
}

fn json_file(body: String) -> axum::response::Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The day as the route engine's JSON problem (for `rendan route check`).
#[utoipa::path(get, path = "/depots/{id}/plans/{date}/problem.json", tag = "delivery", operation_id = "planProblem",
    params(("id" = contract::Depot, Path, description = "Depot id"),
        ("date" = inline(contract::params::Date), Path, description = "Local date")),
    responses((status = 200, description = "rendan's JSON problem format", content_type = "application/json", body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn problem_json(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, date)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let depot = depot_in_path(&state, &id)?;
    let date = date_in_path(&date)?;
    let (problem, _) = state.cases().export(&caller, &depot, date).await?;
    Ok(json_file(problem))
}

/// The day's current plan as the route engine's JSON solution.
#[utoipa::path(get, path = "/depots/{id}/plans/{date}/solution.json", tag = "delivery", operation_id = "planSolution",
    params(("id" = contract::Depot, Path, description = "Depot id"),
        ("date" = inline(contract::params::Date), Path, description = "Local date")),
    responses((status = 200, description = "rendan's JSON solution format", content_type = "application/json", body = Object),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn solution_json(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, date)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    let depot = depot_in_path(&state, &id)?;
    let date = date_in_path(&date)?;
    let (_, solution) = state.cases().export(&caller, &depot, date).await?;
    Ok(json_file(solution))
}

/// A crew's day.
#[derive(Debug, Serialize, ToSchema)]
pub struct CrewRouteView {
    /// The crew.
    pub crew: CrewView,
    /// Local date.
    pub date: String,
    /// Its day, `null` when it has no visit.
    pub route: Option<RouteView>,
}

/// A crew's route on a date.
#[utoipa::path(get, path = "/crews/{id}/route", tag = "delivery", operation_id = "crewRoute",
    params(("id" = inline(contract::params::Id), Path, description = "Crew id"),
        ("date" = inline(contract::params::Date), Query, description = "Local date")),
    responses((status = 200, body = CrewRouteView),
        (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn crew_route(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: QueryMap,
) -> Result<Json<CrewRouteView>, ApiError> {
    let id = path_id(&id, "crew")?;
    let q = q.only(&["date"])?;
    let mut p = Problems::default();
    let date = match q.get("date") {
        Some(v) => p.take(parse_date(v, "date")),
        None => p.take::<Date>(Err(Invalid::new("date", "the date is required"))),
    };
    p.finish()?;
    let Some(date) = date else {
        return Err(ApiError::invalid("date", "the date is required"));
    };
    let (crew, route) = state.cases().crew_route(&caller, id, date).await?;
    Ok(Json(CrewRouteView {
        crew: CrewView::from(&crew),
        date: date.to_string(),
        route: route.as_ref().map(RouteView::from),
    }))
}
