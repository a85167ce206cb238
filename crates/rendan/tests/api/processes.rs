//! Two `rendan serve` processes on one PostgreSQL database behave as one: clients spread over
//! both never oversell, one Idempotency-Key sent to both at once gives one order, a token made
//! through one process works on the other, and every acknowledged order survives SIGKILL of
//! either process.

use crate::database::Database;
use crate::durability::{
    SKU, TOKEN, assert_acknowledged_kept, assert_ledger_consistent, reserved, start,
};
use crate::helpers::{VARESE, order};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const STOCK: i64 = 150;

/// The order a process acknowledged for `key`; `None` when the process could not be reached
/// (it was killed). Any answer but 201 or 200 (a replay) fails the test: both processes must
/// take every request, the second of a pair as a replay of the first.
async fn post(client: &reqwest::Client, base: &str, token: &str, key: &str) -> Option<Value> {
    let res = client
        .post(format!("{base}/api/v1/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&order(key, VARESE.0, VARESE.1, &[(SKU, 1)]))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    let status = res.status();
    if status != 201 && status != 200 {
        let body = res.text().await.unwrap_or_default();
        panic!("{base} answered {status} for key {key}: {body}");
    }
    res.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_behave_as_one() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (mut a, base_a) = start(&db);
    let (mut b, base_b) = start(&db);
    let client = reqwest::Client::new();

    // A token made through A is honoured by B (each caches only tokens it has resolved).
    let res = client
        .post(format!("{base_a}/api/v1/tokens"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "channel-token")
        .json(&json!({"role": "channel", "principal": "shop"}))
        .send()
        .await
        .expect("token");
    assert_eq!(res.status(), 201);
    let channel = res.json::<Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    let res = client
        .get(format!("{base_b}/api/v1/orders"))
        .bearer_auth(&channel)
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 200, "B refuses a token made through A");
    let res = client
        .post(format!("{base_b}/api/v1/stock/receipts"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "opening-stock")
        .json(&json!({"site": "wh-varese", "sku": SKU, "qty": STOCK}))
        .send()
        .await
        .expect("receipt");
    assert_eq!(res.status(), 201);

    // Every request goes to both processes at once with one key: they must agree on one order.
    let acked: Arc<Mutex<Vec<Value>>> = Arc::default();
    let a_alive = Arc::new(AtomicBool::new(true));
    let mut clients = Vec::new();
    for c in 0..8 {
        let (client, acked, channel) = (client.clone(), acked.clone(), channel.clone());
        let (base_a, base_b, a_alive) = (base_a.clone(), base_b.clone(), a_alive.clone());
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("c{c}-{i}");
                let (from_a, from_b) = if a_alive.load(Ordering::Relaxed) {
                    tokio::join!(
                        post(&client, &base_a, &channel, &key),
                        post(&client, &base_b, &channel, &key)
                    )
                } else {
                    (None, post(&client, &base_b, &channel, &key).await)
                };
                if let (Some(x), Some(y)) = (&from_a, &from_b) {
                    assert_eq!(x["id"], y["id"], "two orders for key {key}");
                }
                match from_a.or(from_b) {
                    Some(o) => acked.lock().expect("acked").push(o),
                    None => return,
                }
            }
        }));
    }
    let acked_len = || acked.lock().map(|a| a.len()).unwrap_or(0);
    while acked_len() < 150 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    a.kill().expect("SIGKILL A");
    a.wait().expect("reap A");
    a_alive.store(false, Ordering::Relaxed);
    while acked_len() < 300 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    b.kill().expect("SIGKILL B");
    b.wait().expect("reap B");
    for c in clients {
        c.await.expect("client");
    }
    let acked = acked.lock().expect("acked").clone();

    let (mut a, base) = start(&db);
    assert_acknowledged_kept(&client, &base, &acked).await;
    let all: Value = client
        .get(format!("{base}/api/v1/orders?limit=500"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert!(all["next_cursor"].is_null(), "more orders than one page");
    let items = all["items"].as_array().expect("items");
    let refs: HashSet<&str> = items
        .iter()
        .filter_map(|o| o["external_ref"].as_str())
        .collect();
    assert_eq!(refs.len(), items.len(), "one order per key and reference");
    let from_stock = items
        .iter()
        .filter(|o| o["lines"][0]["fulfilment"]["kind"] == "stock")
        .count() as i64;
    let reserved = reserved(&client, &base).await;
    assert_eq!(reserved, from_stock, "reservations match the stored orders");
    assert!(reserved <= STOCK, "oversold: {reserved} > {STOCK}");
    assert!(items.len() > STOCK as usize, "the load outran the stock");
    a.kill().expect("stop");
    a.wait().expect("reap");
    assert_ledger_consistent(&db);
}
