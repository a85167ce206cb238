//! Delivery and installation: crews, slots that can be kept, booking and the day's plan, on
//! every backend.

use crate::helpers::{TestApp, order, spawn_app_at};
use rendan_route::check::RoutePlan;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

/// 07:00 in Varese on Monday 7 December 2026.
const MONDAY_MORNING: &str = "2026-12-07T06:00:00Z";
/// Tuesday: the first day anything in stock today can be visited (one day to the depot).
const TUESDAY: &str = "2026-12-08";

/// Near the Varese depot (and served by wh-varese only).
const NEAR: (f64, f64) = (45.80, 8.85);

pub(crate) async fn crew(app: &TestApp, name: &str, skills: &[&str], kg: f64, m3: f64) -> i64 {
    let res = app
        .post(
            &app.admin,
            "/api/v1/crews",
            &json!({"depot": "dp-varese", "name": name, "skills": skills,
                    "truck": {"kg": kg, "m3": m3}}),
        )
        .await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    res.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id")
}

/// Two crews at dp-varese working Monday to Saturday 08:00–18:00: a small van without skills
/// and an air-conditioning crew with a big truck.
async fn depot_with_two_crews() -> Option<(TestApp, i64, i64)> {
    let app = spawn_app_at(MONDAY_MORNING.parse().expect("instant")).await?;
    let small = crew(&app, "Van", &[], 300.0, 3.0).await;
    let big = crew(&app, "AC", &["ac-certified"], 1200.0, 12.0).await;
    Some((app, small, big))
}

/// An order near the depot for `qty` × `sku`, from stock received for it.
async fn ready_order(app: &TestApp, reference: &str, sku: &str, qty: i64) -> i64 {
    app.receipt("wh-varese", sku, qty).await;
    placed(app, reference, sku, qty, None).await
}

async fn placed(app: &TestApp, reference: &str, sku: &str, qty: i64, access: Option<Value>) -> i64 {
    let mut body = order(reference, NEAR.0, NEAR.1, &[(sku, qty)]);
    if let Some(a) = access {
        body["site_access"] = a;
    }
    let res = app.post_order(&app.admin, reference, &body).await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    res.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id")
}

async fn book(app: &TestApp, order: i64, date: &str, start: &str) -> reqwest::Response {
    app.post(
        &app.admin,
        &format!("/api/v1/orders/{order}/appointment"),
        &json!({"date": date, "start": start}),
    )
    .await
}

async fn refused(app: &TestApp, order: i64, date: &str, start: &str) -> String {
    let res = book(app, order, date, start).await;
    assert_eq!(res.status(), 409);
    let p: Value = res.json().await.expect("json");
    p["reason"].as_str().expect("a reason").to_string()
}

async fn slots(app: &TestApp, order: i64, from: &str, days: u32) -> Vec<Value> {
    let res = app
        .get(
            &app.admin,
            &format!("/api/v1/orders/{order}/slots?from={from}&days={days}"),
        )
        .await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    res.json::<Vec<Value>>().await.expect("json")
}

/// The status and body of a slot query.
async fn slots_answer(app: &TestApp, order: i64, from: &str, days: u32) -> (u16, Value) {
    let res = app
        .get(
            &app.admin,
            &format!("/api/v1/orders/{order}/slots?from={from}&days={days}"),
        )
        .await;
    (res.status().as_u16(), res.json().await.expect("json"))
}

/// A day's plan as the API shows it.
async fn plan_of(app: &TestApp, date: &str) -> Value {
    app.get_json(
        &app.admin,
        &format!("/api/v1/depots/dp-varese/plans/{date}"),
    )
    .await
}

/// Cancels an order's appointment (without a key).
async fn unbook(app: &TestApp, order: i64) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/api/v1/orders/{order}/appointment")))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("request")
}

/// Optimises a day's plan for at most a second.
async fn optimise(app: &TestApp, date: &str) -> reqwest::Response {
    app.post(
        &app.admin,
        &format!("/api/v1/depots/dp-varese/plans/{date}/optimise?seconds=1"),
        &json!({}),
    )
    .await
}

/// The day's exported problem and solution, checked by the engine's independent checker.
async fn check_day(app: &TestApp, date: &str) -> rendan_route::Report {
    let problem = app
        .get(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{date}/problem.json"),
        )
        .await
        .text()
        .await
        .expect("problem");
    let solution = app
        .get(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{date}/solution.json"),
        )
        .await
        .text()
        .await
        .expect("solution");
    let p = rendan_route::io::json::parse_problem(&problem, rendan_route::io::Distances::Exact)
        .expect("the exported problem reads");
    let s = rendan_route::io::json::parse_solution(&solution).expect("the exported solution reads");
    rendan_route::check(&p, &s.plans())
}

#[tokio::test]
async fn each_reason_a_window_cannot_be_kept_is_named_on_its_own() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    // Skills: nobody is gas-certified.
    let gas = ready_order(&app, "gas", "WH-GAS-16", 1).await;
    assert_eq!(refused(&app, gas, TUESDAY, "10:00").await, "skills");
    // Weight: 18 front-load washers are 1,224 kg, more than the big truck's 1,200, in 6.5 m³
    // of its 12.
    let heavy = ready_order(&app, "heavy", "WM-FL-8", 18).await;
    assert_eq!(refused(&app, heavy, TUESDAY, "10:00").await, "weight");
    // Volume: 65 55-inch televisions weigh 1,105 kg but take 13 m³.
    let bulky = ready_order(&app, "bulky", "TV-LED-55", 65).await;
    assert_eq!(refused(&app, bulky, TUESDAY, "10:00").await, "volume");
    // Shift: three multi-split air conditioners take 15 hours to install.
    let long = ready_order(&app, "long", "AC-MS-36", 3).await;
    assert_eq!(refused(&app, long, TUESDAY, "10:00").await, "shift");
    // Goods not ready: made to order, so not before the factory has made it.
    let made = placed(&app, "made", "REF-BM-340", 1, None).await;
    assert_eq!(refused(&app, made, TUESDAY, "10:00").await, "not_ready");
    let (status, p) = slots_answer(&app, made, TUESDAY, 7).await;
    assert_eq!(
        (status, p["reason"].as_str()),
        (409, Some("not_ready")),
        "{p}"
    );
    // Window full: the 08:00–10:00 window of two crews takes a handful of visits, not 40.
    let mut full = None;
    for i in 0..40 {
        let o = ready_order(&app, &format!("tv-{i}"), "TV-LED-43", 1).await;
        let res = book(&app, o, TUESDAY, "08:00").await;
        match res.status().as_u16() {
            201 => {}
            409 => {
                let p: Value = res.json().await.expect("json");
                full = Some(p["reason"].as_str().expect("reason").to_string());
                break;
            }
            other => panic!("booking {i}: {other}"),
        }
    }
    assert_eq!(full.as_deref(), Some("window_full"));
    // The day's plan keeps every visit it accepted.
    let report = check_day(&app, TUESDAY).await;
    assert!(report.feasible, "{:?}", report.violations);
    // A published day takes no more bookings; a cancelled order none at all.
    let late = ready_order(&app, "late", "TV-LED-43", 1).await;
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{TUESDAY}/publish"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(refused(&app, late, TUESDAY, "16:00").await, "published");
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/orders/{late}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(refused(&app, late, "2026-12-09", "16:00").await, "state");
}

#[tokio::test]
async fn every_slot_offered_to_an_idle_system_can_be_booked() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    let probe = ready_order(&app, "probe", "AC-SPL-12", 1).await;
    let offered = slots(&app, probe, "2026-12-07", 3).await;
    // Today is Monday: nothing before Tuesday (the transfer to the depot); Tuesday and
    // Wednesday offer every window but the last: a two-hour installation starting at 16:00
    // would keep the crew past the end of its shift at 18:00.
    let dates: BTreeSet<&str> = offered.iter().filter_map(|s| s["date"].as_str()).collect();
    assert_eq!(dates, ["2026-12-08", "2026-12-09"].into());
    assert_eq!(offered.len(), 8, "{offered:?}");
    assert!(offered.iter().all(|s| s["start"] != "16:00"), "{offered:?}");
    for (i, slot) in offered.iter().enumerate() {
        let o = ready_order(&app, &format!("ac-{i}"), "AC-SPL-12", 1).await;
        let date = slot["date"].as_str().expect("date");
        let start = slot["start"].as_str().expect("start");
        // Offered to this order, on the plan as it now stands.
        assert!(
            slots(&app, o, date, 1)
                .await
                .iter()
                .any(|s| s["start"] == start),
            "{date} {start} is no longer offered"
        );
        let res = book(&app, o, date, start).await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let a: Value = res.json().await.expect("json");
        assert_eq!(a["end"].as_str().expect("end").len(), 5);
        assert_eq!(a["depot"], "dp-varese");
    }
    let order: Value = app
        .get_json(&app.admin, "/api/v1/orders?status=scheduled")
        .await;
    assert_eq!(order["items"].as_array().expect("items").len(), 8);
    for date in ["2026-12-08", "2026-12-09"] {
        let report = check_day(&app, date).await;
        assert!(report.feasible, "{date}: {:?}", report.violations);
    }
}

#[tokio::test]
async fn a_booking_cancelled_frees_its_capacity_and_its_order() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    let o = ready_order(&app, "one", "TV-LED-43", 1).await;
    let key = "book-one";
    let body = json!({"date": TUESDAY, "start": "12:00"});
    let path = format!("/api/v1/orders/{o}/appointment");
    let first = app.post_with_key(&app.admin, key, &path, &body).await;
    assert_eq!(first.status(), 201);
    let again = app.post_with_key(&app.admin, key, &path, &body).await;
    assert_eq!(again.status(), 200, "a retry answers the same appointment");
    let other = app
        .post_with_key(
            &app.admin,
            key,
            &path,
            &json!({"date": TUESDAY, "start": "14:00"}),
        )
        .await;
    assert_eq!(other.status(), 409, "the same key for another window");
    let res = unbook(&app, o).await;
    assert_eq!(res.status(), 200);
    let o_now: Value = res.json().await.expect("json");
    assert_eq!(o_now["status"], "ready");
    let plan: Value = plan_of(&app, TUESDAY).await;
    assert!(
        plan["routes"].as_array().expect("routes").is_empty(),
        "{plan}"
    );
    let res = unbook(&app, o).await;
    assert_eq!(res.status(), 404);
}

/// 40 clients race to book 400 orders into one depot-day that two crews can serve a few dozen
/// of: every acceptance is kept by the day's final plan, every refusal is a 409 with its
/// reason; the accepted bookings replayed in reverse order on a fresh system give a plan that
/// keeps every one it accepts, and the accepted visits alone, given to the engine in another
/// order, make a feasible plan again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_storm_never_overbooks_a_day() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    let app = Arc::new(app);
    app.receipt("wh-varese", "TV-LED-43", 400).await;
    let mut orders = Vec::new();
    let mut storm_bodies = Vec::new();
    for i in 0..400 {
        // Customers spread over a few kilometres around the depot.
        let a = i as f64 * 2.4;
        let r = 0.04 * ((i % 13) as f64 / 13.0);
        let body = order(
            &format!("storm-{i}"),
            NEAR.0 + r * a.sin(),
            NEAR.1 + r * a.cos(),
            &[("TV-LED-43", 1)],
        );
        let res = app
            .post_order(&app.admin, &format!("storm-{i}"), &body)
            .await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.expect("json")["id"]
            .as_i64()
            .expect("id");
        orders.push(id);
        storm_bodies.push((id, body));
    }
    let windows = ["08:00", "10:00", "12:00", "14:00", "16:00"];
    let mut tasks = Vec::new();
    for client in 0..40 {
        let app = app.clone();
        let mine: Vec<i64> = orders.iter().copied().skip(client).step_by(40).collect();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for (k, o) in mine.into_iter().enumerate() {
                let start = windows[(client + k) % windows.len()];
                let res = book(&app, o, TUESDAY, start).await;
                let status = res.status().as_u16();
                let body: Value = res.json().await.expect("json");
                out.push((o, start, status, body));
            }
            out
        }));
    }
    let mut accepted = Vec::new();
    for t in tasks {
        for (o, start, status, body) in t.await.expect("client") {
            match status {
                201 => accepted.push((o, start)),
                409 => assert!(
                    ["window_full", "shift"].contains(&body["reason"].as_str().unwrap_or("")),
                    "{body}"
                ),
                other => panic!("order {o}: {other} {body}"),
            }
        }
    }
    assert!(accepted.len() >= 10, "{} accepted", accepted.len());
    assert!(
        accepted.len() < 200,
        "two crews cannot serve {}",
        accepted.len()
    );
    // The final plan keeps every accepted visit, each in its window.
    let report = check_day(&app, TUESDAY).await;
    assert!(report.feasible, "{:?}", report.violations);
    let plan: Value = plan_of(&app, TUESDAY).await;
    let planned: BTreeSet<i64> = plan["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r["stops"].as_array().expect("stops").iter())
        .map(|s| s["order"].as_i64().expect("order"))
        .collect();
    assert_eq!(planned, accepted.iter().map(|(o, _)| *o).collect());
    for (o, start) in &accepted {
        let a: Value = app
            .get_json(&app.admin, &format!("/api/v1/orders/{o}/appointment"))
            .await;
        assert_eq!(a["start"], *start);
    }
    // The accepted bookings replayed through the API in reverse order on a fresh system with
    // the same crews and customers: every replayed acceptance is kept by that day's plan too.
    let Some((fresh, _, _)) = depot_with_two_crews().await else {
        return;
    };
    fresh.receipt("wh-varese", "TV-LED-43", 400).await;
    let bodies: std::collections::BTreeMap<i64, Value> = storm_bodies
        .iter()
        .map(|(id, body)| (*id, body.clone()))
        .collect();
    let (mut replayed, mut kept) = (Vec::new(), 0);
    for (o, start) in accepted.iter().rev() {
        let reference = bodies[o]["external_ref"].as_str().expect("ref").to_string();
        let res = fresh.post_order(&fresh.admin, &reference, &bodies[o]).await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.expect("json")["id"]
            .as_i64()
            .expect("id");
        let res = book(&fresh, id, TUESDAY, start).await;
        match res.status().as_u16() {
            201 => {
                kept += 1;
                replayed.push(id);
            }
            409 => {
                let body: Value = res.json().await.expect("json");
                assert!(
                    ["window_full", "shift"].contains(&body["reason"].as_str().unwrap_or("")),
                    "{body}"
                );
            }
            other => panic!("replaying order {o}: {other}"),
        }
    }
    let report = check_day(&fresh, TUESDAY).await;
    assert!(report.feasible, "{:?}", report.violations);
    let planned: BTreeSet<i64> = plan_of(&fresh, TUESDAY).await["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .flat_map(|r| r["stops"].as_array().expect("stops").iter())
        .map(|s| s["order"].as_i64().expect("order"))
        .collect();
    assert_eq!(planned, replayed.iter().copied().collect());
    eprintln!(
        "storm: {} of 400 accepted; replayed in reverse, {kept} of them accepted again",
        accepted.len()
    );
    // Every accepted visit of the storm at once, in reverse order, planned from scratch by
    // the engine: feasible again, so the acceptances never depended on their order.
    let problem = app
        .get(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{TUESDAY}/problem.json"),
        )
        .await
        .text()
        .await
        .expect("problem");
    let mut p = rendan_route::io::json::parse_problem(&problem, rendan_route::io::Distances::Exact)
        .expect("problem");
    p.jobs.reverse();
    let config = rendan_route::Config::new(rendan_route::Objective::Distance, 7);
    let mut stop = rendan_route::Limits::new(None, Some(3_000));
    let s = rendan_route::solve(&p, &config, &mut stop, &mut |_| {}).expect("solves");
    let plans: Vec<RoutePlan> = s.plans(&p);
    let again = rendan_route::check(&p, &plans);
    assert!(again.feasible, "{:?}", again.violations);
}

#[tokio::test]
async fn optimising_keeps_every_visit_in_its_window_and_never_costs_more() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    for i in 0..12 {
        let o = ready_order(&app, &format!("o-{i}"), "TV-LED-43", 1).await;
        let start = ["08:00", "10:00", "12:00", "14:00", "16:00"][i % 5];
        assert_eq!(book(&app, o, TUESDAY, start).await.status(), 201);
    }
    let before: Value = plan_of(&app, TUESDAY).await;
    let res = optimise(&app, TUESDAY).await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.expect("json");
    assert!(
        after["cost"].as_f64().expect("cost") <= before["cost"].as_f64().expect("cost") + 1e-6,
        "{before} -> {after}"
    );
    let report = check_day(&app, TUESDAY).await;
    assert!(report.feasible, "{:?}", report.violations);
    let stops = |p: &Value| -> usize {
        p["routes"]
            .as_array()
            .expect("routes")
            .iter()
            .map(|r| r["stops"].as_array().expect("stops").len())
            .sum()
    };
    assert_eq!(stops(&after), 12);
    for r in after["routes"].as_array().expect("routes") {
        for s in r["stops"].as_array().expect("stops") {
            let start = s["start"].as_str().expect("start");
            assert!(
                start >= s["window"]["start"].as_str().expect("ws")
                    && start <= s["window"]["end"].as_str().expect("we"),
                "{s}"
            );
        }
    }
}

#[tokio::test]
async fn crews_are_validated_and_listed_by_depot() {
    let Some((app, small, _)) = depot_with_two_crews().await else {
        return;
    };
    let res = app
        .post(
            &app.admin,
            "/api/v1/crews",
            &json!({"depot": "dp-varese", "name": " ", "skills": ["AC"], "truck": {"kg": 0, "m3": 1},
                    "shifts": {"mon": {"start": "18:00", "end": "08:00"}}}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.expect("json");
    let fields: Vec<&str> = p["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    for f in ["name", "skills[0]", "truck.kg", "shifts.mon"] {
        assert!(fields.contains(&f), "{f} not named: {p}");
    }
    let dup = app
        .post(
            &app.admin,
            "/api/v1/crews",
            &json!({"depot": "dp-varese", "name": "Van", "truck": {"kg": 100, "m3": 1}}),
        )
        .await;
    assert_eq!(dup.status(), 409);
    let crews = app
        .get_json(&app.admin, "/api/v1/depots/dp-varese/crews")
        .await;
    let crews = crews.as_array().expect("crews");
    assert_eq!(crews.len(), 2);
    assert_eq!(crews[0]["id"], small);
    assert_eq!(crews[0]["shifts"]["sun"], Value::Null);
    assert_eq!(crews[0]["shifts"]["mon"]["start"], "08:00");
    let route: Value = app
        .get_json(
            &app.admin,
            &format!("/api/v1/crews/{small}/route?date={TUESDAY}"),
        )
        .await;
    assert_eq!(route["route"], Value::Null);
    let unknown = app.get(&app.admin, "/api/v1/depots/wh-varese/crews").await;
    assert_eq!(unknown.status(), 404);
}

/// A made-to-order order has no slots until its production is done; completing it makes the
/// day after (the transfer to the depot) bookable.
#[tokio::test]
async fn slots_open_when_production_completes() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    let made = placed(&app, "made", "REF-BM-340", 1, None).await;
    let (status, p) = slots_answer(&app, made, TUESDAY, 3).await;
    assert_eq!(status, 409, "{p}");
    assert_eq!(p["reason"], "not_ready");
    assert!(
        p["detail"]
            .as_str()
            .expect("detail")
            .contains("ask for slots from"),
        "{p}"
    );
    let order: Value = app
        .get_json(&app.admin, &format!("/api/v1/orders/{made}"))
        .await;
    let production = order["lines"][0]["fulfilment"]["production_order"]
        .as_i64()
        .expect("made to order");
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/production-orders/{production}/complete"),
            &json!({}),
        )
        .await;
    assert_eq!(
        res.status(),
        200,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let offered = slots(&app, made, "2026-12-07", 3).await;
    let dates: BTreeSet<&str> = offered.iter().filter_map(|s| s["date"].as_str()).collect();
    assert_eq!(dates, ["2026-12-08", "2026-12-09"].into(), "{offered:?}");
    assert_eq!(book(&app, made, TUESDAY, "10:00").await.status(), 201);
}

/// A slot query or booking further ahead than the horizon is a 422 naming the field.
#[tokio::test]
async fn dates_beyond_the_horizon_are_refused() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    let o = ready_order(&app, "far", "TV-LED-43", 1).await;
    let (status, p) = slots_answer(&app, o, "2027-12-07", 7).await;
    assert_eq!((status, p["field"].as_str()), (422, Some("from")), "{p}");
    let res = book(&app, o, "2027-12-07", "10:00").await;
    assert_eq!(res.status(), 422);
    let p: Value = res.json().await.expect("json");
    assert_eq!(p["field"], "date", "{p}");
    // 183 days after Monday 7 December 2026 is Tuesday 8 June 2027.
    let (status, _) = slots_answer(&app, o, "2027-06-02", 7).await;
    assert_eq!(status, 200, "within the horizon");
    let (status, p) = slots_answer(&app, o, "2027-06-03", 7).await;
    assert_eq!(
        (status, p["field"].as_str()),
        (422, Some("days")),
        "the last day is beyond: {p}"
    );
}

/// The site's access sets the time on site (fourth floor, no lift) and the haul-away load the
/// truck brings back, as the exported problem shows.
#[tokio::test]
async fn site_access_sets_time_on_site_and_the_load_brought_back() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    app.receipt("wh-varese", "WM-FL-8", 2).await;
    let plain = placed(&app, "plain", "WM-FL-8", 1, None).await;
    let stairs = placed(
        &app,
        "stairs",
        "WM-FL-8",
        1,
        Some(json!({"floor": 4, "lift": false, "haul_away": true})),
    )
    .await;
    let order: Value = app
        .get_json(&app.admin, &format!("/api/v1/orders/{stairs}"))
        .await;
    assert_eq!(order["site_access"]["floor"], 4, "{order}");
    for o in [plain, stairs] {
        assert_eq!(book(&app, o, TUESDAY, "10:00").await.status(), 201);
    }
    let problem: Value = app
        .get_json(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{TUESDAY}/problem.json"),
        )
        .await;
    let job = |id: i64| {
        problem["jobs"]
            .as_array()
            .expect("jobs")
            .iter()
            .find(|j| j["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no job {id} in {problem}"))
    };
    let (p, s) = (job(plain), job(stairs));
    assert_eq!(p["delivery"], s["delivery"], "the same goods go out");
    let pickup = |j: &Value| -> f64 {
        j["pickup"]
            .as_array()
            .map_or(0.0, |a| a.iter().filter_map(Value::as_f64).sum())
    };
    assert_eq!(pickup(&p), 0.0, "{p}");
    assert!(pickup(&s) > 0.0, "the old washer rides back: {s}");
    assert!(
        s["service"].as_f64().expect("service") > p["service"].as_f64().expect("service"),
        "four floors of stairs and a haul-away take longer: {p} {s}"
    );
    let report = check_day(&app, TUESDAY).await;
    assert!(report.feasible, "{:?}", report.violations);
}

/// Publishing locks the day; its orders go out for delivery when the day begins at the depot,
/// and each crew's route lists its stops.
#[tokio::test]
async fn a_published_day_goes_out_for_delivery_when_it_begins() {
    let clock = crate::helpers::ManualClock::new(MONDAY_MORNING.parse().expect("instant"));
    let Some(app) = crate::helpers::spawn_app_on(&clock).await else {
        return;
    };
    let van = crew(&app, "Van", &[], 300.0, 3.0).await;
    let o = ready_order(&app, "tv", "TV-LED-43", 1).await;
    let res = book(&app, o, TUESDAY, "10:00").await;
    assert_eq!(res.status(), 201);
    let a: Value = res.json().await.expect("json");
    assert_eq!(a["crew"], van);
    let route: Value = app
        .get_json(
            &app.admin,
            &format!("/api/v1/crews/{van}/route?date={TUESDAY}"),
        )
        .await;
    let stops = route["route"]["stops"].as_array().expect("stops");
    assert_eq!(stops.len(), 1, "{route}");
    assert_eq!(stops[0]["order"], o);
    let publish = format!("/api/v1/depots/dp-varese/plans/{TUESDAY}/publish");
    let res = app.post(&app.admin, &publish, &json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(plan_of(&app, TUESDAY).await["status"], "published");
    assert_eq!(
        order_status(&app, o).await,
        "scheduled",
        "Tuesday has not begun"
    );
    // Unbooking and re-planning a published day are refused; nothing changes.
    let res = unbook(&app, o).await;
    assert_eq!(res.status(), 409);
    let res = optimise(&app, TUESDAY).await;
    assert_eq!(res.status(), 409);
    // The minute tick on Monday leaves it; on Tuesday morning it sends it out.
    assert_eq!(app.cases.start_due_days(1).await.expect("tick"), 0);
    assert_eq!(order_status(&app, o).await, "scheduled");
    clock.advance(jiff::SignedDuration::from_hours(24));
    assert_eq!(app.cases.start_due_days(1).await.expect("tick"), 1);
    assert_eq!(order_status(&app, o).await, "out_for_delivery");
    assert_eq!(app.cases.start_due_days(1).await.expect("tick"), 0, "once");
}

/// Optimising a plan the engine cannot improve keeps it exactly as it was.
#[tokio::test]
async fn optimising_a_plan_it_cannot_improve_keeps_it() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    let o = ready_order(&app, "one", "TV-LED-43", 1).await;
    assert_eq!(book(&app, o, TUESDAY, "12:00").await.status(), 201);
    let before = plan_of(&app, TUESDAY).await;
    let res = optimise(&app, TUESDAY).await;
    assert_eq!(res.status(), 200);
    let after: Value = res.json().await.expect("json");
    assert_eq!(after, before);
    assert_eq!(plan_of(&app, TUESDAY).await, before);
}

async fn order_status(app: &TestApp, order: i64) -> String {
    let order: Value = app
        .get_json(&app.admin, &format!("/api/v1/orders/{order}"))
        .await;
    order["status"].as_str().expect("status").to_string()
}

/// Optimise and publish keep their Idempotency-Key: a retry answers the plan as it now is
/// without optimising again, and the same key for another day is a 409.
#[tokio::test]
async fn optimise_and_publish_retries_change_nothing() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    for i in 0..10 {
        let o = ready_order(&app, &format!("o-{i}"), "TV-LED-43", 1).await;
        let start = ["08:00", "10:00", "12:00", "14:00", "16:00"][i % 5];
        assert_eq!(book(&app, o, TUESDAY, start).await.status(), 201);
    }
    let optimise = format!("/api/v1/depots/dp-varese/plans/{TUESDAY}/optimise?seconds=1");
    let res = app
        .post_with_key(&app.admin, "opt-1", &optimise, &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    // A visit booked after the optimisation sits where insertion put it; a retry of the
    // optimisation answers that plan and leaves it so.
    let late = ready_order(&app, "late", "TV-LED-43", 1).await;
    assert_eq!(book(&app, late, TUESDAY, "08:00").await.status(), 201);
    let now = plan_of(&app, TUESDAY).await;
    let res = app
        .post_with_key(&app.admin, "opt-1", &optimise, &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.expect("json"), now);
    assert_eq!(plan_of(&app, TUESDAY).await, now);
    let other = "/api/v1/depots/dp-varese/plans/2026-12-09/optimise?seconds=1";
    let res = app
        .post_with_key(&app.admin, "opt-1", other, &json!({}))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.expect("json")["field"],
        "Idempotency-Key"
    );

    let publish = format!("/api/v1/depots/dp-varese/plans/{TUESDAY}/publish");
    for _ in 0..2 {
        let res = app
            .post_with_key(&app.admin, "pub-1", &publish, &json!({}))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.json::<Value>().await.expect("json")["status"],
            "published"
        );
    }
    let res = app
        .post_with_key(
            &app.admin,
            "pub-1",
            "/api/v1/depots/dp-varese/plans/2026-12-09/publish",
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(plan_of(&app, "2026-12-09").await["status"], "draft");
}

/// `rendan serve` with its demo: at least three crews at every depot with trucks of two sizes
/// and not every skill on every crew, orders booked over the coming days, and each such day's
/// plan keeps every one of its visits (by the engine's checker).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_has_crews_appointments_and_plans_that_keep_them() {
    let Some(db) = crate::database::Database::fresh().await else {
        return;
    };
    let (mut child, base) = crate::durability::start_with(&db, &[]);
    let client = reqwest::Client::new();
    let get = |path: String| {
        let request = client
            .get(format!("{base}{path}"))
            .bearer_auth(crate::durability::TOKEN);
        async move {
            let res = request.send().await.expect("request");
            assert_eq!(res.status(), 200, "{}", res.url());
            res.text().await.expect("body")
        }
    };
    let crews: Vec<Value> = serde_json::from_str(&get("/api/v1/crews".into()).await).expect("json");
    let depots: BTreeSet<String> = rendan_topology::load(None)
        .expect("topology")
        .topology
        .sites()
        .iter()
        .filter(|s| s.kind == rendan_domain::SiteKind::Depot)
        .map(|s| s.id.to_string())
        .collect();
    for depot in &depots {
        let mine: Vec<&Value> = crews.iter().filter(|c| c["depot"] == *depot).collect();
        assert!(mine.len() >= 3, "{depot}: {} crews", mine.len());
        let trucks: BTreeSet<String> = mine.iter().map(|c| c["truck"].to_string()).collect();
        assert!(trucks.len() >= 2, "{depot}: one truck size");
        let skills: Vec<BTreeSet<String>> = mine
            .iter()
            .map(|c| {
                c["skills"]
                    .as_array()
                    .expect("skills")
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            })
            .collect();
        let all: BTreeSet<String> = skills.iter().flatten().cloned().collect();
        assert!(
            skills.iter().any(|s| *s != all),
            "{depot}: every crew has every skill"
        );
    }
    let scheduled: Value =
        serde_json::from_str(&get("/api/v1/orders?status=scheduled&limit=500".into()).await)
            .expect("json");
    let scheduled = scheduled["items"].as_array().expect("items");
    assert!(!scheduled.is_empty(), "the demo booked nothing");
    let mut days: std::collections::BTreeMap<(String, String), BTreeSet<i64>> = Default::default();
    for o in scheduled {
        let id = o["id"].as_i64().expect("id");
        let a: Value = serde_json::from_str(&get(format!("/api/v1/orders/{id}/appointment")).await)
            .expect("json");
        let key = (
            a["depot"].as_str().expect("depot").to_string(),
            a["date"].as_str().expect("date").to_string(),
        );
        days.entry(key).or_default().insert(id);
    }
    assert!(days.len() > 1, "appointments over several days: {days:?}");
    for ((depot, date), orders) in &days {
        let plan = format!("/api/v1/depots/{depot}/plans/{date}");
        let problem = get(format!("{plan}/problem.json")).await;
        let solution = get(format!("{plan}/solution.json")).await;
        let p = rendan_route::io::json::parse_problem(&problem, rendan_route::io::Distances::Exact)
            .expect("problem");
        let s = rendan_route::io::json::parse_solution(&solution).expect("solution");
        let report = rendan_route::check(&p, &s.plans());
        assert!(report.feasible, "{depot} {date}: {:?}", report.violations);
        let planned: BTreeSet<i64> = s
            .plans()
            .iter()
            .flat_map(|r| r.jobs.iter().map(|&j| j as i64))
            .collect();
        assert_eq!(&planned, orders, "{depot} {date}");
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
}
