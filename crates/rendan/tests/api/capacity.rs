//! Promises from the factories' schedules: production orders queue on each factory's daily
//! capacity per category, and completing one early or late re-promises the orders behind it.

use crate::helpers::{ManualClock, TestApp, VARESE, order, spawn_app_at, spawn_app_on};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp, ToSpan};
use rendan_domain::fulfilment::{self, Snapshot};
use rendan_domain::order::NewOrder;
use serde_json::{Value, json};

/// 10:00 in Varese on a Monday.
const MORNING: &str = "2026-11-23T09:00:00Z";

fn date(v: &Value) -> Date {
    v.as_str().expect("a date").parse().expect("YYYY-MM-DD")
}

/// The same order as the API body, as the domain sees it.
fn domain_order(reference: &str, sku: &str, qty: i64) -> NewOrder {
    let c = rendan_domain::order::RawCustomer {
        name: "Test Customer",
        phone: "+39 0332 123456",
        address: "Via Test 1",
        lat: VARESE.0,
        lon: VARESE.1,
    };
    NewOrder::new("web", reference, c, &[(sku, qty)]).expect("valid order")
}

/// Every factory's queue planned again from the stored production orders (the audit
/// `rendan check-ledger` runs) finds each where the platform put it: no day over-booked, no
/// queue out of promise order.
pub async fn assert_queues_hold(app: &TestApp) {
    let file = rendan_topology::load(None).expect("default topology");
    let misplaced =
        rendan_store::ledger::check_queues(app.store.as_ref(), file.topology.capacities())
            .await
            .expect("audit");
    assert!(misplaced.is_empty(), "{misplaced:?}");
}

#[tokio::test]
async fn large_orders_spill_over_the_factorys_days_and_queue_in_promise_order() {
    let now: Timestamp = MORNING.parse().expect("instant");
    let Some(app) = spawn_app_at(now).await else {
        return;
    };
    // What the domain decides for three orders of 10,000 refrigerators one after another.
    let file = rendan_topology::load(None).expect("default topology");
    let mut snapshot = Snapshot::default();
    let mut expected = Vec::new();
    for i in 0..3 {
        let o = domain_order(&format!("fridges-{i}"), "REF-BM-340", 10_000);
        let opts = fulfilment::options(&file.topology, &file.promise, &o).expect("options");
        let a = fulfilment::allocate(&opts, &file.promise, now, &mut snapshot).expect("decided");
        expected.push(a);
    }
    let mut promised = Vec::new();
    for (i, want) in expected.iter().enumerate() {
        let body = order(
            &format!("fridges-{i}"),
            VARESE.0,
            VARESE.1,
            &[("REF-BM-340", 10_000)],
        );
        let res = app.post_order(&app.admin, &format!("f-{i}"), &body).await;
        assert_eq!(res.status(), 201);
        let o: Value = res.json().await.expect("json");
        assert_eq!(date(&o["promised_date"]), want.promised, "order {i}");
        let fulfilment::LineChoice::Production(p) = &want.lines[0].choice else {
            panic!("10,000 refrigerators are made to order")
        };
        assert_eq!(o["lines"][0]["fulfilment"]["factory"], p.factory.as_str());
        assert_eq!(o["promises"][0]["reason"], "accepted");
        promised.push(date(&o["promised_date"]));
    }
    // No factory makes 10,000 refrigerators in a day: each order spills over several days,
    // and the later ones wait for the capacity the earlier ones took.
    let earliest_possible = now
        .to_zoned(jiff::tz::TimeZone::get("Europe/Rome").expect("zone"))
        .date()
        .saturating_add(8.days());
    assert!(promised[0] > earliest_possible, "{promised:?}");
    assert!(
        promised[0] <= promised[1] && promised[1] <= promised[2],
        "{promised:?}"
    );
    assert!(promised[0] < promised[2], "{promised:?}");
    let pos = app.all(&app.admin, "/api/v1/production-orders").await;
    assert_eq!(pos.len(), 3);
    for p in &pos {
        assert!(date(&p["ready_date"]) > date(&p["earliest"]), "{p}");
        assert_eq!(p["category"], "refrigerator");
    }
    assert_queues_hold(&app).await;
}

/// Places one order of `qty` REF-BM-340 near Varese and answers (order id, production
/// order id, promised date).
async fn fridge_order(app: &TestApp, reference: &str, qty: i64) -> (i64, i64, Date) {
    let body = order(reference, VARESE.0, VARESE.1, &[("REF-BM-340", qty)]);
    let res = app.post_order(&app.admin, reference, &body).await;
    assert_eq!(res.status(), 201);
    let o: Value = res.json().await.expect("json");
    let po = o["lines"][0]["fulfilment"]["production_order"]
        .as_i64()
        .expect("made to order");
    assert_eq!(o["lines"][0]["fulfilment"]["factory"], "fx-varese");
    (o["id"].as_i64().expect("id"), po, date(&o["promised_date"]))
}

async fn complete(app: &TestApp, po: i64) -> Value {
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/production-orders/{po}/complete"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.expect("json")
}

async fn order_json(app: &TestApp, id: i64) -> Value {
    app.get(&app.admin, &format!("/api/v1/orders/{id}"))
        .await
        .json()
        .await
        .expect("json")
}

#[tokio::test]
async fn completing_early_moves_the_orders_behind_forward_and_keeps_their_history() {
    let now: Timestamp = MORNING.parse().expect("instant");
    let Some(app) = spawn_app_at(now).await else {
        return;
    };
    // fx-varese makes 800 refrigerators a day after 10 days of lead time: the first order
    // takes five days of it, the second queues behind.
    let (_, first_po, _) = fridge_order(&app, "early-1", 4_000).await;
    let (second, _, before) = fridge_order(&app, "early-2", 800).await;
    assert_queues_hold(&app).await;

    // The first completes today, long before its ready date: the second moves forward.
    let done = complete(&app, first_po).await;
    assert_eq!(done["order"]["status"], "ready");
    let o = order_json(&app, second).await;
    let after = date(&o["promised_date"]);
    assert!(after < before, "{before} -> {after}");
    let history = o["promises"].as_array().expect("history");
    assert_eq!(history.len(), 2, "{o}");
    assert_eq!(history[0]["reason"], "accepted");
    assert_eq!(date(&history[0]["date"]), before);
    assert_eq!(history[1]["reason"], "replanned");
    assert_eq!(history[1]["production_order"], first_po);
    assert_eq!(date(&history[1]["date"]), after);
    assert_queues_hold(&app).await;
    // The completed order's own promise follows its goods: in the warehouse today.
    let first = &done["order"];
    let local = now
        .to_zoned(jiff::tz::TimeZone::get("Europe/Rome").expect("zone"))
        .date();
    assert_eq!(
        date(&first["promised_date"]),
        local.saturating_add(2.days())
    );
}

#[tokio::test]
async fn completing_late_moves_the_orders_behind_back() {
    let clock = ManualClock::new(MORNING.parse().expect("instant"));
    let Some(app) = spawn_app_on(&clock).await else {
        return;
    };
    let (_, first_po, _) = fridge_order(&app, "late-1", 800).await;
    let (second, _, before) = fridge_order(&app, "late-2", 800).await;
    // The first was due in 10 days; it is completed 15 days from now.
    clock.advance(SignedDuration::from_hours(15 * 24));
    complete(&app, first_po).await;
    let o = order_json(&app, second).await;
    let after = date(&o["promised_date"]);
    assert!(after > before, "{before} -> {after}");
    assert_eq!(o["promises"].as_array().expect("history").len(), 2);
    // Nothing of the second is finished before today at the factory.
    let pos = app
        .all(&app.admin, "/api/v1/production-orders?status=open")
        .await;
    let today = clock.boxed()()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Rome").expect("zone"))
        .date();
    assert!(date(&pos[0]["ready_date"]) >= today);
    assert_queues_hold(&app).await;
}

#[tokio::test]
async fn cancelling_frees_the_capacity_for_the_orders_behind() {
    let now: Timestamp = MORNING.parse().expect("instant");
    let Some(app) = spawn_app_at(now).await else {
        return;
    };
    let (first, _, _) = fridge_order(&app, "cancel-1", 4_000).await;
    let (second, _, before) = fridge_order(&app, "cancel-2", 800).await;
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/orders/{first}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let o = order_json(&app, second).await;
    assert!(date(&o["promised_date"]) < before, "{o}");
    assert_queues_hold(&app).await;
}
