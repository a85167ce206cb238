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

async fn crew(app: &TestApp, name: &str, skills: &[&str], kg: f64, m3: f64) -> i64 {
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
    // Weight: 20 French-door refrigerators are 2,240 kg.
    let heavy = ready_order(&app, "heavy", "REF-FD-540", 20).await;
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
    assert!(slots(&app, made, TUESDAY, 7).await.is_empty());
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
        .get(&app.admin, "/api/v1/orders?status=scheduled")
        .await
        .json()
        .await
        .expect("json");
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
    let res = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    let o_now: Value = res.json().await.expect("json");
    assert_eq!(o_now["status"], "ready");
    let plan: Value = app
        .get(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{TUESDAY}"),
        )
        .await
        .json()
        .await
        .expect("json");
    assert!(
        plan["routes"].as_array().expect("routes").is_empty(),
        "{plan}"
    );
    let res = app
        .client
        .delete(app.url(&path))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 404);
}

/// 40 clients race to book 400 orders into one depot-day that two crews can serve a few dozen
/// of: every acceptance is kept by the day's final plan, every refusal is a 409 with its
/// reason, and the accepted visits alone, given to the engine in another order, make a feasible
/// plan again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_storm_never_overbooks_a_day() {
    let Some((app, _, _)) = depot_with_two_crews().await else {
        return;
    };
    let app = Arc::new(app);
    app.receipt("wh-varese", "TV-LED-43", 400).await;
    let mut orders = Vec::new();
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
        orders.push(
            res.json::<Value>().await.expect("json")["id"]
                .as_i64()
                .expect("id"),
        );
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
    let plan: Value = app
        .get(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{TUESDAY}"),
        )
        .await
        .json()
        .await
        .expect("json");
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
            .get(&app.admin, &format!("/api/v1/orders/{o}/appointment"))
            .await
            .json()
            .await
            .expect("json");
        assert_eq!(a["start"], *start);
    }
    // The accepted visits in reverse order, planned from scratch by the engine: feasible again.
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
    let before: Value = app
        .get(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{TUESDAY}"),
        )
        .await
        .json()
        .await
        .expect("json");
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/depots/dp-varese/plans/{TUESDAY}/optimise?seconds=1"),
            &json!({}),
        )
        .await;
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
    let crews: Vec<Value> = app
        .get(&app.admin, "/api/v1/depots/dp-varese/crews")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(crews.len(), 2);
    assert_eq!(crews[0]["id"], small);
    assert_eq!(crews[0]["shifts"]["sun"], Value::Null);
    assert_eq!(crews[0]["shifts"]["mon"]["start"], "08:00");
    let route: Value = app
        .get(
            &app.admin,
            &format!("/api/v1/crews/{small}/route?date={TUESDAY}"),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(route["route"], Value::Null);
    let unknown = app.get(&app.admin, "/api/v1/depots/wh-varese/crews").await;
    assert_eq!(unknown.status(), 404);
}
