//! Channels are told: webhooks from the durable outbox, on every backend. A receiver that
//! refuses, then does not answer in time, then accepts; and a server killed with SIGKILL while
//! changes wait in the outbox. Every change arrives at least once, each order's in order,
//! every signature verifies.

use crate::database::Database;
use crate::durability::{TOKEN, start_with};
use crate::helpers::{ManualClock, TestApp, VARESE, order, spawn_app_on};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const SECRET: &str = "a-webhook-secret-of-some-length";

/// How the stand-in receiver answers the next request.
const REFUSE: u8 = 0;
const STALL: u8 = 1;
const ACCEPT: u8 = 2;

/// A request as the receiver saw it: delivery header, signature header, body.
type Seen = (String, String, Vec<u8>);

#[derive(Clone, Default)]
struct Receiver {
    mode: Arc<AtomicU8>,
    /// Every request that reached it.
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Modes to take, one per request, before falling back to `mode`.
    script: Arc<Mutex<Vec<u8>>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    if let Ok(mut seen) = r.seen.lock() {
        seen.push((
            header("rendan-delivery"),
            header("rendan-signature"),
            body.to_vec(),
        ));
    }
    let scripted = r.script.lock().ok().and_then(|mut s| {
        if s.is_empty() {
            None
        } else {
            Some(s.remove(0))
        }
    });
    match scripted.unwrap_or_else(|| r.mode.load(Ordering::SeqCst)) {
        REFUSE => StatusCode::SERVICE_UNAVAILABLE,
        STALL => {
            // Longer than the deliverer waits: it records a timeout.
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            StatusCode::OK
        }
        _ => StatusCode::NO_CONTENT,
    }
}

async fn receiver() -> (Receiver, String) {
    let r = Receiver::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (r, format!("http://{addr}/hook"))
}

/// Every delivery seen verifies; per order, the statuses in the order their deliveries were
/// first seen, duplicates (a retry after a lost answer) dropped.
fn told(r: &Receiver, now: Timestamp) -> BTreeMap<i64, Vec<String>> {
    let seen = r.seen.lock().expect("seen").clone();
    let mut firsts: Vec<(i64, i64, String)> = Vec::new();
    for (delivery, signature, body) in &seen {
        assert!(
            rendan_webhooks::verify(
                SECRET.as_bytes(),
                signature,
                body,
                now,
                SignedDuration::from_mins(5)
            ),
            "signature {signature} does not verify"
        );
        let json: Value = serde_json::from_slice(body).expect("json body");
        let id: i64 = delivery.parse().expect("delivery id");
        assert_eq!(json["delivery"], id);
        if !firsts.iter().any(|(d, _, _)| *d == id) {
            let order = json["order"].as_i64().expect("order");
            let status = json["status"].as_str().expect("status").to_string();
            firsts.push((id, order, status));
        }
    }
    let mut per_order: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for (id, order, status) in firsts {
        per_order.entry(order).or_default().push((id, status));
    }
    per_order
        .into_iter()
        .map(|(order, deliveries)| {
            let ids: Vec<i64> = deliveries.iter().map(|(id, _)| *id).collect();
            let mut sorted = ids.clone();
            sorted.sort_unstable();
            assert_eq!(ids, sorted, "order {order}'s changes arrived out of order");
            (order, deliveries.into_iter().map(|(_, s)| s).collect())
        })
        .collect()
}

async fn channel_token(app: &TestApp, name: &str) -> String {
    app.token_for(&json!({"principal": name, "role": "channel"}))
        .await
}

/// The receiver refuses, then stalls past the timeout, then accepts: the change is delivered
/// on the third attempt, each attempt waits for its back-off, and the deliveries list shows
/// all three; changes of several orders each arrive in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_then_stalling_receiver_gets_every_change_in_order() {
    let clock = ManualClock::new("2026-12-07T06:00:00Z".parse().expect("instant"));
    let Some(app) = spawn_app_on(&clock).await else {
        return;
    };
    let (receiver, url) = receiver().await;
    let shop = channel_token(&app, "shop-hooks").await;
    let res = app
        .post(
            &shop,
            "/api/v1/webhooks",
            &json!({"url": url, "secret": SECRET, "events": ["ready", "in_production", "cancelled"]}),
        )
        .await;
    assert_eq!(
        res.status(),
        201,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let hook: Value = res.json().await.expect("json");
    assert!(
        hook.get("secret").is_none(),
        "the secret is never shown again"
    );
    let hook_id = hook["id"].as_i64().expect("id");

    app.receipt("wh-varese", "WM-FL-8", 1).await;
    let mut orders = Vec::new();
    for i in 0..3 {
        let reference = format!("hooked-{i}");
        let res = app
            .post_order(
                &shop,
                &reference,
                &order(&reference, VARESE.0, VARESE.1, &[("WM-FL-8", 1)]),
            )
            .await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.expect("json")["id"]
            .as_i64()
            .expect("id");
        orders.push(id);
    }
    let cancel = format!("/api/v1/orders/{}/cancel", orders[0]);
    assert_eq!(app.post(&shop, &cancel, &json!({})).await.status(), 200);

    let now = {
        let c = clock.clone();
        Arc::new(move || c.boxed()()) as rendan_webhooks::Clock
    };
    let settings = rendan_webhooks::Settings {
        timeout: Duration::from_millis(300),
        backoff: SignedDuration::from_secs(10),
        poll: Duration::from_millis(10),
    };
    let deliverer = rendan_webhooks::Deliverer::new(app.store.clone(), settings, now);
    // First round: the receiver refuses everything.
    receiver.mode.store(REFUSE, Ordering::SeqCst);
    assert_eq!(
        deliverer.run_once().await.expect("round"),
        3,
        "one head per order"
    );
    assert_eq!(
        deliverer.run_once().await.expect("round"),
        0,
        "waiting for the back-off"
    );
    // Second round, ten seconds on: it stalls past the timeout.
    clock.advance(SignedDuration::from_secs(10));
    receiver.mode.store(STALL, Ordering::SeqCst);
    assert_eq!(deliverer.run_once().await.expect("round"), 3);
    clock.advance(SignedDuration::from_secs(10));
    assert_eq!(
        deliverer.run_once().await.expect("round"),
        0,
        "the second wait is 20 s"
    );
    // Then it accepts: every change goes, each order's in turn.
    clock.advance(SignedDuration::from_secs(10));
    receiver.mode.store(ACCEPT, Ordering::SeqCst);
    while deliverer.run_once().await.expect("round") > 0 {}
    let told = told(&receiver, clock.boxed()());
    assert_eq!(told[&orders[0]], ["ready", "cancelled"]);
    assert_eq!(
        told[&orders[1]],
        ["in_production"],
        "no stock left: made to order"
    );
    assert_eq!(told[&orders[2]], ["in_production"]);

    let page = app
        .get_json(
            &shop,
            &format!("/api/v1/webhooks/{hook_id}/deliveries?limit=500"),
        )
        .await;
    let first: Vec<(String, Option<i64>)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["order"] == orders[1])
        .map(|a| {
            (
                a["outcome"].as_str().unwrap_or("").to_string(),
                a["status_code"].as_i64(),
            )
        })
        .collect();
    assert_eq!(
        first,
        [
            ("retrying".to_string(), Some(503)),
            ("retrying".to_string(), None),
            ("delivered".to_string(), Some(204)),
        ],
        "{page}"
    );
    // Another channel sees neither the webhook nor its deliveries.
    let other = channel_token(&app, "shop-other").await;
    let res = app
        .get(&other, &format!("/api/v1/webhooks/{hook_id}/deliveries"))
        .await;
    assert_eq!(res.status(), 404);
    assert_eq!(app.get_json(&other, "/api/v1/webhooks").await, json!([]));
}

/// A webhook is validated field by field, a channel registers only its own, an admin names
/// the channel; a retry with the same key answers the same webhook.
#[tokio::test]
async fn webhooks_are_validated_and_idempotent() {
    let clock = ManualClock::new("2026-12-07T06:00:00Z".parse().expect("instant"));
    let Some(app) = spawn_app_on(&clock).await else {
        return;
    };
    let shop = channel_token(&app, "shop-a").await;
    let res = app
        .post(
            &shop,
            "/api/v1/webhooks",
            &json!({"url": "ftp://x", "secret": "short", "events": ["shipped"]}),
        )
        .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["url", "secret", "events[0]"]);
    let good = json!({"url": "http://127.0.0.1:9/hook", "secret": SECRET, "events": ["installed"]});
    let mut theirs = good.clone();
    theirs["channel"] = json!("shop-b");
    assert_eq!(
        app.post(&shop, "/api/v1/webhooks", &theirs).await.status(),
        403
    );
    assert_eq!(
        app.post(&app.admin, "/api/v1/webhooks", &good)
            .await
            .status(),
        422,
        "an admin names the channel"
    );
    let mut unknown = good.clone();
    unknown["channel"] = json!("nobody");
    assert_eq!(
        app.post(&app.admin, "/api/v1/webhooks", &unknown)
            .await
            .status(),
        422
    );
    let planner = app.token("planner", None).await;
    assert_eq!(
        app.post(&planner, "/api/v1/webhooks", &good).await.status(),
        403
    );
    let first = app
        .post_with_key(&shop, "hook-1", "/api/v1/webhooks", &good)
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let again = app
        .post_with_key(&shop, "hook-1", "/api/v1/webhooks", &good)
        .await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.expect("json"), first);
    let mut other = good.clone();
    other["events"] = json!(["ready"]);
    let clash = app
        .post_with_key(&shop, "hook-1", "/api/v1/webhooks", &other)
        .await;
    assert_eq!(clash.status(), 409);
    let mut for_shop = good.clone();
    for_shop["channel"] = json!("shop-a");
    assert_eq!(
        app.post(&app.admin, "/api/v1/webhooks", &for_shop)
            .await
            .status(),
        201
    );
    let all = app.get_json(&app.admin, "/api/v1/webhooks").await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));
}

/// Changes committed while the receiver refuses, the server killed with SIGKILL, the receiver
/// back: after a restart every change is delivered, each order's in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_waiting_in_the_outbox_survive_sigkill() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (receiver, url) = receiver().await;
    receiver.mode.store(REFUSE, Ordering::SeqCst);
    let args = [
        "--no-demo",
        "--webhook-timeout-ms",
        "500",
        "--webhook-retry-ms",
        "50",
    ];
    let (mut child, base) = start_with(&db, &args);
    let client = reqwest::Client::new();
    let post = |path: String, token: String, key: String, body: Value| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            client
                .post(format!("{base}{path}"))
                .bearer_auth(token)
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .expect("request")
        }
    };
    let res = post(
        "/api/v1/tokens".into(),
        TOKEN.into(),
        "shop-token".into(),
        json!({"principal": "shop-kill", "role": "channel"}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let shop = res.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let res = post(
        "/api/v1/webhooks".into(),
        shop.clone(),
        "hook".into(),
        json!({"url": url, "secret": SECRET, "events": ["ready", "in_production", "cancelled"]}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let res = post(
        "/api/v1/stock/receipts".into(),
        TOKEN.into(),
        "stock".into(),
        json!({"site": "wh-varese", "sku": "WM-FL-8", "qty": 5}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let mut orders = Vec::new();
    for i in 0..8 {
        let key = format!("kill-{i}");
        let res = post(
            "/api/v1/orders".into(),
            shop.clone(),
            key.clone(),
            order(&key, VARESE.0, VARESE.1, &[("WM-FL-8", 1)]),
        )
        .await;
        assert_eq!(res.status(), 201);
        let id = res.json::<Value>().await.expect("json")["id"]
            .as_i64()
            .expect("id");
        if i % 2 == 0 {
            let res = post(
                format!("/api/v1/orders/{id}/cancel"),
                shop.clone(),
                format!("cancel-{i}"),
                json!({}),
            )
            .await;
            assert_eq!(res.status(), 200);
        }
        orders.push(id);
    }
    // The receiver has refused at least one attempt: changes wait in the outbox.
    for _ in 0..200 {
        if !receiver.seen.lock().expect("seen").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !receiver.seen.lock().expect("seen").is_empty(),
        "the deliverer runs"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    receiver.mode.store(ACCEPT, Ordering::SeqCst);
    let (mut child, _base) = start_with(&db, &args);
    // Every other order is cancelled at once, so the five units never run out.
    let expected = |i: usize| -> Vec<&str> {
        if i.is_multiple_of(2) {
            vec!["ready", "cancelled"]
        } else {
            vec!["ready"]
        }
    };
    let mut last = BTreeMap::new();
    for _ in 0..500 {
        last = told(&receiver, Timestamp::now());
        let done = orders
            .iter()
            .enumerate()
            .all(|(i, o)| last.get(o).is_some_and(|s| *s == expected(i)));
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().expect("stop");
    child.wait().expect("reap");
    for (i, o) in orders.iter().enumerate() {
        let got: Vec<&str> = last
            .get(o)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        assert_eq!(got, expected(i), "order {o}");
    }
}
