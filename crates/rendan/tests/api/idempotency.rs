//! Idempotency keys: one key posted 50 times at once yields one order; every mutating POST
//! replays a retry and refuses another body under the same key; keys and orders belong to the
//! principal, so rotating its token keeps both.

use crate::helpers::{VARESE, order, spawn_app};
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_retries_make_one_order() {
    let Some(app) = spawn_app().await else { return };
    let app = Arc::new(app);
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

    // Keys are per principal: another channel may use the same key for its own order.
    let other_channel = app.token("channel", None).await;
    let res = app.post_order(&other_channel, "same-key", &body).await;
    assert_eq!(res.status(), 201);
}

/// Stock receipts, cancellation, completion and token creation: a retry with the same key and
/// body answers the same and changes nothing; the same key with another body is a 409.
#[tokio::test]
async fn every_mutating_post_replays_and_refuses_another_body() {
    let Some(app) = spawn_app().await else { return };
    let receipt = json!({"site": "wh-varese", "sku": "WM-FL-8", "qty": 10});
    let path = "/api/v1/stock/receipts";
    let first = app.post_with_key(&app.admin, "r-1", path, &receipt).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("json");
    let retry = app.post_with_key(&app.admin, "r-1", path, &receipt).await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.json::<Value>().await.expect("json"), first);
    assert_eq!(app.balance("wh-varese", "WM-FL-8").await, (10, 0, 10));
    let other = json!({"site": "wh-varese", "sku": "WM-FL-8", "qty": 11});
    let res = app.post_with_key(&app.admin, "r-1", path, &other).await;
    assert_eq!(res.status(), 409);
    assert_eq!(
        res.json::<Value>().await.expect("json")["field"],
        "Idempotency-Key"
    );
    assert_eq!(app.balance("wh-varese", "WM-FL-8").await, (10, 0, 10));
    // A receipt without a key is refused: a retry could not be told from a new delivery.
    let res = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.admin)
        .json(&receipt)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 400);

    // Completion: a retry answers the same completion instead of 409.
    let o: Value = app
        .post_order(
            &app.admin,
            "o-1",
            &order("o-1", VARESE.0, VARESE.1, &[("REF-BM-340", 2)]),
        )
        .await
        .json()
        .await
        .expect("json");
    let po = o["lines"][0]["fulfilment"]["production_order"]
        .as_i64()
        .expect("po");
    let complete = format!("/api/v1/production-orders/{po}/complete");
    for _ in 0..2 {
        let res = app
            .post_with_key(&app.admin, "c-1", &complete, &json!({}))
            .await;
        assert_eq!(res.status(), 200);
        let done: Value = res.json().await.expect("json");
        assert_eq!(done["production_order"]["status"], "completed");
    }
    assert_eq!(app.balance("wh-varese", "REF-BM-340").await, (2, 2, 0));
    let res = app
        .post_with_key(&app.admin, "c-2", &complete, &json!({}))
        .await;
    assert_eq!(res.status(), 409, "a new key is a new intent");

    // Cancellation: a retry answers the cancelled order, not "already cancelled".
    let id = o["id"].as_i64().expect("id");
    let cancel = format!("/api/v1/orders/{id}/cancel");
    for _ in 0..2 {
        let res = app
            .post_with_key(&app.admin, "x-1", &cancel, &json!({}))
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(
            res.json::<Value>().await.expect("json")["status"],
            "cancelled"
        );
    }
    assert_eq!(app.balance("wh-varese", "REF-BM-340").await, (2, 0, 2));
    // The same key for another order's cancellation is another body.
    let other = format!("/api/v1/orders/{}/cancel", id + 1000);
    let res = app
        .post_with_key(&app.admin, "x-1", &other, &json!({}))
        .await;
    assert_eq!(res.status(), 409);

    // Token creation: the retry names the same token but cannot show its secret again.
    let body = json!({"principal": "shop-eu", "role": "channel"});
    let res = app
        .post_with_key(&app.admin, "t-1", "/api/v1/tokens", &body)
        .await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.expect("json");
    assert!(created["token"].as_str().is_some());
    let res = app
        .post_with_key(&app.admin, "t-1", "/api/v1/tokens", &body)
        .await;
    assert_eq!(res.status(), 200);
    let replay: Value = res.json().await.expect("json");
    assert_eq!(replay["id"], created["id"]);
    assert!(replay.get("token").is_none());
    let tokens: Value = app
        .get(&app.admin, "/api/v1/tokens")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(tokens.as_array().expect("list").len(), 2, "{tokens}");
    let res = app
        .post_with_key(
            &app.admin,
            "t-1",
            "/api/v1/tokens",
            &json!({"role": "admin"}),
        )
        .await;
    assert_eq!(res.status(), 409);
}

/// A principal's orders and idempotency keys outlive the token that created them: after
/// rotating to a new token and revoking the old one, the channel still sees its orders and a
/// retry still de-duplicates.
#[tokio::test]
async fn rotating_a_token_keeps_the_channels_orders_and_keys() {
    let Some(app) = spawn_app().await else { return };
    app.receipt("wh-varese", "TV-LED-55", 5).await;
    let mint = |principal: &'static str| {
        let app = &app;
        async move {
            let res = app
                .post(
                    &app.admin,
                    "/api/v1/tokens",
                    &json!({"principal": principal, "role": "channel"}),
                )
                .await;
            assert_eq!(res.status(), 201);
            let t: Value = res.json().await.expect("json");
            (
                t["token"].as_str().expect("secret").to_string(),
                t["id"].as_i64().expect("id"),
            )
        }
    };
    let (old, old_id) = mint("shop").await;
    let body = order("S-1", VARESE.0, VARESE.1, &[("TV-LED-55", 1)]);
    let res = app.post_order(&old, "order-1", &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");

    let (new, _) = mint("shop").await;
    let res = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{old_id}")))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    assert!(res.json::<Value>().await.expect("json")["revoked_at"].is_string());
    assert_eq!(app.get(&old, "/api/v1/orders").await.status(), 401);

    assert_eq!(
        app.get(&new, &format!("/api/v1/orders/{id}"))
            .await
            .status(),
        200
    );
    assert_eq!(app.all_orders(&new).await.len(), 1);
    let res = app.post_order(&new, "order-1", &body).await;
    assert_eq!(
        res.status(),
        200,
        "the retry through the new token is a replay"
    );
    assert_eq!(res.json::<Value>().await.expect("json")["id"], id);
    assert_eq!(app.balance("wh-varese", "TV-LED-55").await, (5, 1, 4));

    // Another channel principal sees none of it.
    let (stranger, _) = mint("other-shop").await;
    assert_eq!(
        app.get(&stranger, &format!("/api/v1/orders/{id}"))
            .await
            .status(),
        404
    );
    // A principal's tokens share its role.
    let res = app
        .post(
            &app.admin,
            "/api/v1/tokens",
            &json!({"principal": "shop", "role": "admin"}),
        )
        .await;
    assert_eq!(res.status(), 409);
}
