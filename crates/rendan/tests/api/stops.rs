//! What happens at the door: crews' stop events, on every backend.
//!
//! Crews work offline, so their events arrive late, twice and out of order. These tests post
//! the same day's events in order and shuffled with duplicates, on two fresh platforms, and
//! compare everything the events shape: every order, every visit, every balance.

use crate::helpers::{ManualClock, TestApp, order, spawn_app_on};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

/// 07:00 in Varese on Monday 7 December 2026.
const MONDAY_MORNING: &str = "2026-12-07T06:00:00Z";
const TUESDAY: &str = "2026-12-08";
const NEAR: (f64, f64) = (45.80, 8.85);
const WINDOWS: [&str; 5] = ["08:00", "10:00", "12:00", "14:00", "16:00"];

/// What a stop's crew reports, by design of the test day.
#[derive(Debug, Clone, Copy)]
enum Story {
    /// Arrived (late or not), delivered, installed, and collected the old appliance if any.
    Installed { late_minutes: i64 },
    /// Arrived, then failed.
    Failed(&'static str),
    /// Arrived, delivered, then failed (the installation could not be done).
    DeliveredThenFailed(&'static str),
}

const STORIES: [Story; 8] = [
    Story::Installed { late_minutes: 0 },
    Story::Installed { late_minutes: 150 },
    Story::Failed("customer_absent"),
    Story::Installed { late_minutes: 30 },
    Story::Failed("damaged_in_transit"),
    Story::DeliveredThenFailed("missing_skill"),
    Story::Failed("wrong_item"),
    Story::Installed { late_minutes: 0 },
];

/// SplitMix64: a reproducible shuffle without a dependency.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

async fn crew(app: &TestApp, name: &str) -> i64 {
    crate::delivery::crew(app, name, &[], 2000.0, 20.0).await
}

/// A platform whose Tuesday at dp-varese went out with `STORIES.len()` orders of one
/// washing machine each (every other one with a haul-away) on two crews, and spare stock for
/// replacements. Answers the app, its clock (Tuesday 23:00 local), the orders and each
/// order's booked window start as an instant.
async fn day_out() -> Option<(TestApp, ManualClock, Vec<(i64, Timestamp)>)> {
    let clock = ManualClock::new(MONDAY_MORNING.parse().expect("instant"));
    let app = spawn_app_on(&clock).await?;
    crew(&app, "North").await;
    crew(&app, "South").await;
    app.receipt("wh-varese", "WM-FL-8", 2 * STORIES.len() as i64)
        .await;
    let mut orders = Vec::new();
    for (i, _) in STORIES.iter().enumerate() {
        let reference = format!("stop-{i}");
        let mut body = order(
            &reference,
            NEAR.0,
            NEAR.1 + 0.01 * i as f64,
            &[("WM-FL-8", 1)],
        );
        body["site_access"] = json!({"floor": 0, "lift": true, "haul_away": i % 2 == 0});
        let res = app.post_order(&app.admin, &reference, &body).await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.expect("json")["id"]
            .as_i64()
            .expect("id");
        let start = WINDOWS[i % WINDOWS.len()];
        let res = app
            .post(
                &app.admin,
                &format!("/api/v1/orders/{id}/appointment"),
                &json!({"date": TUESDAY, "start": start}),
            )
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
        // Varese is UTC+1 in December.
        let at: Timestamp = format!("{TUESDAY}T{start}:00+01:00")
            .parse()
            .expect("instant");
        orders.push((id, at));
    }
    let publish = format!("/api/v1/depots/dp-varese/plans/{TUESDAY}/publish");
    assert_eq!(
        app.post(&app.admin, &publish, &json!({})).await.status(),
        200
    );
    clock.advance(SignedDuration::from_hours(24));
    assert_eq!(app.cases.start_due_days(1).await.expect("tick"), 1);
    // The crews' devices sync at the end of the day (23:00 local).
    clock.advance(SignedDuration::from_hours(16));
    Some((app, clock, orders))
}

fn event(order: i64, seq: u64, kind: &str, at: Timestamp, reason: Option<&str>) -> (i64, Value) {
    let mut body = json!({
        "event_id": format!("00000000-0000-4000-8000-{:012x}", order as u64 * 16 + seq),
        "kind": kind,
        "at": at.to_string(),
        "lat": NEAR.0,
        "lon": NEAR.1,
    });
    if let Some(r) = reason {
        body["reason"] = json!(r);
    }
    (order, body)
}

/// Every event of the day, in the order the crews lived it.
fn the_day(orders: &[(i64, Timestamp)]) -> Vec<(i64, Value)> {
    let mut events = Vec::new();
    for (i, (&(order, start), story)) in orders.iter().zip(STORIES).enumerate() {
        let min = |m: i64| start + SignedDuration::from_mins(m);
        match story {
            Story::Installed { late_minutes } => {
                events.push(event(order, 1, "arrived", min(late_minutes + 5), None));
                events.push(event(order, 2, "delivered", min(late_minutes + 15), None));
                if i % 2 == 0 {
                    events.push(event(
                        order,
                        3,
                        "haul_away_collected",
                        min(late_minutes + 40),
                        None,
                    ));
                }
                events.push(event(order, 4, "installed", min(late_minutes + 50), None));
            }
            Story::Failed(reason) => {
                events.push(event(order, 1, "arrived", min(20), None));
                events.push(event(order, 2, "failed", min(25), Some(reason)));
            }
            Story::DeliveredThenFailed(reason) => {
                events.push(event(order, 1, "arrived", min(10), None));
                events.push(event(order, 2, "delivered", min(20), None));
                events.push(event(order, 3, "failed", min(70), Some(reason)));
            }
        }
    }
    events.sort_by_key(|(_, e)| e["at"].as_str().map(str::to_string));
    events
}

async fn post_event(app: &TestApp, order: i64, body: &Value) -> reqwest::Response {
    app.post(&app.admin, &format!("/api/v1/stops/{order}/events"), body)
        .await
}

/// Everything the events shape: orders, production, balances, and every visit as read back.
async fn state_after(app: &TestApp, orders: &[(i64, Timestamp)]) -> Vec<String> {
    let mut out = Vec::new();
    for (id, _) in orders {
        let o = app
            .get_json(&app.admin, &format!("/api/v1/orders/{id}"))
            .await;
        out.push(format!("order {id}: {} {}", o["status"], o["lines"]));
        let visits = app
            .get_json(&app.admin, &format!("/api/v1/stops/{id}"))
            .await;
        out.push(format!("visits {id}: {visits}"));
    }
    let stock = app.store.stock(&Default::default()).await.expect("stock");
    out.push(format!("{stock:?}"));
    for group_by in ["region", "depot", "crew", "category"] {
        let levels = app
            .get_json(
                &app.admin,
                &format!("/api/v1/service-levels?from={TUESDAY}&to={TUESDAY}&group_by={group_by}"),
            )
            .await;
        out.push(format!("service by {group_by}: {levels}"));
    }
    let report = rendan_store::ledger::check(app.store.as_ref())
        .await
        .expect("ledger check");
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );
    out
}

/// The done-when of the execution issue: a day's events posted in random order with 20%
/// duplicates leave every order, visit and balance exactly as the in-order run does.
#[tokio::test]
async fn a_days_events_in_any_order_with_duplicates_give_the_same_state() {
    let Some((app, _clock, orders)) = day_out().await else {
        return;
    };
    for (id, _) in &orders {
        let o = app
            .get_json(&app.admin, &format!("/api/v1/orders/{id}"))
            .await;
        assert_eq!(o["status"], "out_for_delivery", "{o}");
    }
    // Loading issued every unit: on hand is what is left for replacements.
    let (on_hand, reserved, _) = app.balance("wh-varese", "WM-FL-8").await;
    assert_eq!((on_hand, reserved), (STORIES.len() as i64, 0));
    let day = the_day(&orders);
    for (order, body) in &day {
        let res = post_event(&app, *order, body).await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    let in_order = state_after(&app, &orders).await;

    let Some((shuffled_app, _clock, orders_again)) = day_out().await else {
        return;
    };
    assert_eq!(orders_again, orders, "both platforms start alike");
    let mut mix = Mix(1);
    let mut posts = day.clone();
    for i in (1..posts.len()).rev() {
        posts.swap(i, mix.below(i + 1));
    }
    let duplicates: Vec<(i64, Value)> = (0..posts.len() / 5)
        .map(|_| posts[mix.below(posts.len())].clone())
        .collect();
    for d in duplicates {
        let at = mix.below(posts.len() + 1);
        posts.insert(at, d);
    }
    let mut seen = std::collections::HashSet::new();
    for (order, body) in &posts {
        let res = post_event(&shuffled_app, *order, body).await;
        let first = seen.insert(body["event_id"].to_string());
        let expected = if first { 201 } else { 200 };
        assert_eq!(
            res.status(),
            expected,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
    let shuffled = state_after(&shuffled_app, &orders).await;
    assert_eq!(shuffled, in_order);

    // What the day did, read once: installed, failed back to booking, goods followed.
    let status = |i: usize| {
        in_order[2 * i]
            .split_whitespace()
            .nth(2)
            .unwrap_or_default()
            .trim_matches('"')
            .to_string()
    };
    assert_eq!(status(0), "installed");
    assert_eq!(status(1), "installed");
    assert_eq!(status(2), "ready", "a failed visit goes back to booking");
    assert_eq!(status(4), "ready", "damaged goods are replaced from stock");
    assert_eq!(status(5), "ready");
    // Three failures brought goods back: one customer-absent and one missing-skill visit put
    // their units back (reserved again); two unusable units went to returns and were replaced
    // from the spare stock.
    let (on_hand, reserved, _) = app.balance("wh-varese", "WM-FL-8").await;
    assert_eq!((on_hand, reserved), (STORIES.len() as i64 + 2, 4));
    let levels = app
        .get_json(
            &app.admin,
            &format!("/api/v1/service-levels?from={TUESDAY}&to={TUESDAY}"),
        )
        .await;
    let europe = &levels["groups"][0];
    assert_eq!(europe["key"], "europe", "{levels}");
    assert_eq!(europe["visits"], 8);
    // Stop 1 arrived 155 minutes into a two-hour window; stop 2's absent customer is left out.
    assert_eq!(europe["on_time"]["met"], 6, "{europe}");
    assert_eq!(europe["on_time"]["total"], 7);
    assert_eq!(europe["on_time"]["target_met"], false);
    assert_eq!(europe["first_visit_install"]["met"], 4, "0, 1, 3 and 7");
    assert_eq!(europe["first_visit_install"]["total"], 7);
    assert_eq!(europe["customer_caused"]["by_reason"]["customer_absent"], 1);
    assert_eq!(europe["promise_kept"]["met"], 4);
    assert_eq!(europe["promise_kept"]["total"], 4);
    assert_eq!(
        europe["lead_time_days"]["p50"], 1,
        "ordered Monday, installed Tuesday"
    );
    let (returns, _, _) = app.balance("dp-varese-returns", "WM-FL-8").await;
    // The two unusable units, and the one old appliance collected: of the stops with a
    // haul-away (even indices) only stop 0 was installed.
    assert_eq!(returns, 2 + 1);
}

/// A crew reports only for its own published stops; planners and channels not at all; the
/// same event id with another body is refused; nothing changes on any refusal.
#[tokio::test]
async fn only_the_crew_of_a_stop_reports_for_it() {
    let Some((app, _clock, orders)) = day_out().await else {
        return;
    };
    let (order, start) = orders[0];
    let plan = app
        .get_json(&app.admin, &format!("/api/v1/stops/{order}"))
        .await;
    let own = plan[0]["crew"].as_i64().expect("crew");
    let crews = app.get_json(&app.admin, "/api/v1/crews").await;
    let other = crews
        .as_array()
        .expect("crews")
        .iter()
        .filter_map(|c| c["id"].as_i64())
        .find(|&c| c != own)
        .expect("two crews");
    let own_token = app.token_for(&json!({"role": "crew", "crew": own})).await;
    let other_token = app.token_for(&json!({"role": "crew", "crew": other})).await;
    let before = app.snapshot().await;
    let (_, arrived) = event(order, 1, "arrived", start, None);
    let url = format!("/api/v1/stops/{order}/events");
    let res = app.post(&other_token, &url, &arrived).await;
    assert_eq!(
        res.status(),
        404,
        "another crew's stop is not on its routes"
    );
    let planner = app.token("planner", None).await;
    assert_eq!(app.post(&planner, &url, &arrived).await.status(), 403);
    let res = app
        .post(
            &app.admin,
            "/api/v1/tokens",
            &json!({"role": "crew", "crew": 999}),
        )
        .await;
    assert_eq!(res.status(), 422, "an unknown crew");
    let mut wrong_day = arrived.clone();
    wrong_day["at"] = json!((start + SignedDuration::from_hours(48)).to_string());
    let res = app.post(&own_token, &url, &wrong_day).await;
    assert_eq!(res.status(), 422, "the future");
    wrong_day["at"] = json!((start - SignedDuration::from_hours(24)).to_string());
    let res = app.post(&own_token, &url, &wrong_day).await;
    assert_eq!(res.status(), 422, "a day without a visit");
    let mut no_reason = arrived.clone();
    no_reason["kind"] = json!("failed");
    let res = app.post(&own_token, &url, &no_reason).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["errors"][0]["field"], "reason", "{problem}");
    assert_eq!(app.snapshot().await, before, "refusals change nothing");

    let res = app.post(&own_token, &url, &arrived).await;
    assert_eq!(res.status(), 201);
    let visit: Value = res.json().await.expect("json");
    assert_eq!(visit["outcome"], "arrived", "{visit}");
    assert_eq!(visit["order_status"], "out_for_delivery");
    let mut changed = arrived.clone();
    changed["lat"] = json!(45.9);
    let res = app.post(&own_token, &url, &changed).await;
    assert_eq!(res.status(), 409, "one event id, two bodies");
    assert_eq!(app.post(&own_token, &url, &arrived).await.status(), 200);
    // The crew reads its own route and visits, not another crew's.
    let route = app
        .get_json(
            &own_token,
            &format!("/api/v1/crews/{own}/route?date={TUESDAY}"),
        )
        .await;
    assert!(
        route["route"]["stops"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["order"] == order)),
        "{route}"
    );
    let res = app
        .get(
            &own_token,
            &format!("/api/v1/crews/{other}/route?date={TUESDAY}"),
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.get(&own_token, &format!("/api/v1/stops/{order}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.get(&other_token, &format!("/api/v1/stops/{order}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get(&own_token, &format!("/api/v1/orders/{order}"))
            .await
            .status(),
        404
    );
}

/// A visit recorded as failed with its goods intact, then shown installed by a late event,
/// is installed: the goods leave again and the next booking is released. An installation
/// contradicted later by a failure stays installed, the failure flagged.
#[tokio::test]
async fn a_late_installation_outranks_a_failure_and_a_late_failure_is_flagged() {
    let Some((app, _clock, orders)) = day_out().await else {
        return;
    };
    let (a, start_a) = orders[0];
    let (b, start_b) = orders[1];
    let post = |order: i64, body: Value| {
        let app = &app;
        async move {
            let res = post_event(app, order, &body).await;
            assert_eq!(
                res.status(),
                201,
                "{}",
                res.text().await.unwrap_or_default()
            );
            res.json::<Value>().await.expect("json")
        }
    };
    let at = |s: Timestamp, m: i64| s + SignedDuration::from_mins(m);
    let v = post(
        a,
        event(a, 1, "failed", at(start_a, 10), Some("customer_absent")).1,
    )
    .await;
    assert_eq!(v["order_status"], "ready", "{v}");
    assert_eq!(
        app.balance("wh-varese", "WM-FL-8").await.1,
        1,
        "reserved again"
    );
    let v = post(a, event(a, 2, "installed", at(start_a, 40), None).1).await;
    assert_eq!(v["order_status"], "installed", "{v}");
    assert_eq!(v["outcome"], "installed");
    assert_eq!(v["events"][0]["flag"], "contradicts_outcome", "{v}");
    assert_eq!(
        app.balance("wh-varese", "WM-FL-8").await.1,
        0,
        "issued again"
    );

    let v = post(b, event(b, 1, "installed", at(start_b, 40), None).1).await;
    assert_eq!(v["order_status"], "installed");
    let v = post(b, event(b, 2, "failed", at(start_b, 10), Some("refused")).1).await;
    assert_eq!(v["order_status"], "installed", "installed is final: {v}");
    assert_eq!(v["events"][0]["flag"], "contradicts_outcome");
    let report = rendan_store::ledger::check(app.store.as_ref())
        .await
        .expect("ledger check");
    assert!(report.discrepancies.is_empty());
}

/// Service levels take a bounded range of dates and a known grouping; channels and crews are
/// refused; a planner of another region sees none of Europe's figures.
#[tokio::test]
async fn service_levels_are_bounded_and_scoped() {
    let Some((app, _clock, _orders)) = day_out().await else {
        return;
    };
    let get = |token: String, query: &'static str| {
        let app = &app;
        async move {
            let res = app
                .get(&token, &format!("/api/v1/service-levels?{query}"))
                .await;
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("json"))
        }
    };
    let admin = app.admin.clone();
    let (status, body) = get(admin.clone(), "from=2026-12-09&to=2026-12-08").await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("to"))
    );
    let (status, _) = get(admin.clone(), "from=2026-01-01&to=2027-01-02").await;
    assert_eq!(status, 422, "more than 366 days");
    let (status, body) = get(
        admin.clone(),
        "from=2026-12-01&to=2026-12-31&group_by=planet",
    )
    .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("group_by"))
    );
    let (status, body) = get(admin.clone(), "to=2026-12-31").await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("from"))
    );
    let channel = app.token("channel", None).await;
    assert_eq!(get(channel, "from=2026-12-01&to=2026-12-31").await.0, 403);
    let asia = app.token("planner", Some("asia")).await;
    let (status, body) = get(asia, "from=2026-12-01&to=2026-12-31").await;
    assert_eq!(status, 200);
    assert_eq!(body["groups"], json!([]), "{body}");
    let europe = app.token("planner", Some("europe")).await;
    let (_, body) = get(europe, "from=2026-12-01&to=2026-12-31&group_by=crew").await;
    let visits: i64 = body["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["visits"].as_i64())
        .sum();
    assert_eq!(visits, 8, "{body}");
    // No crew has reported yet: every visit is a miss until its events arrive.
    assert_eq!(body["groups"][0]["on_time"]["met"], 0);
}
