//! One Idempotency-Key posted 50 times at once yields one order, and every answer names it.

use crate::helpers::{VARESE, order, spawn_app};
use serde_json::Value;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_retries_make_one_order() {
    let app = Arc::new(spawn_app().await);
    app.receipt("wh-varese", "TV-LED-55", 10).await;
    let channel = app.token("channel", None).await;
    let body = order("dup-1", VARESE.0, VARESE.1, &[("TV-LED-55", 2)]);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (app, channel, body) = (app.clone(), channel.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let res = app.post_order(&channel, "same-key", &body).await;
            let status = res.status().as_u16();
            let json: Value = res.json().await.expect("json");
            (status, json)
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for t in tasks {
        let (status, json) = t.await.expect("task");
        assert!(status == 200 || status == 201, "{status} {json}");
        if status == 201 {
            created += 1;
        }
        ids.push(json["id"].as_i64().expect("id"));
    }
    assert_eq!(created, 1);
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert_eq!(app.all_orders(&app.admin).await.len(), 1);
    assert_eq!(app.balance("wh-varese", "TV-LED-55").await, (10, 2, 8));

    // Same key, different body: a conflict naming the header, and nothing changes.
    let other = order("dup-1", VARESE.0, VARESE.1, &[("TV-LED-55", 3)]);
    let res = app.post_order(&channel, "same-key", &other).await;
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["field"], "Idempotency-Key");
    assert_eq!(app.balance("wh-varese", "TV-LED-55").await, (10, 2, 8));

    // Keys are per token: another channel may use the same key for its own order.
    let other_channel = app.token("channel", None).await;
    let res = app.post_order(&other_channel, "same-key", &body).await;
    assert_eq!(res.status(), 201);
}
