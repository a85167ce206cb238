//! The role matrix: channel, region-scoped planner, unscoped planner and admin each see and
//! change exactly what they may; out-of-region orders are 404, not 403; a channel cancels its
//! own orders.

use crate::helpers::{ManualClock, SEOUL, VARESE, order, spawn_app, spawn_app_on};
use serde_json::{Value, json};

#[tokio::test]
async fn each_role_sees_and_changes_exactly_its_share() {
    let Some(app) = spawn_app().await else { return };
    let channel_a = app.token("channel", None).await;
    let channel_b = app.token("channel", None).await;
    let europe = app.token("planner", Some("europe")).await;
    let asia = app.token("planner", Some("asia")).await;
    let planner = app.token("planner", None).await;

    let place = |token: String, key: &'static str, at: (f64, f64)| {
        let app = &app;
        async move {
            let res = app
                .post_order(&token, key, &order(key, at.0, at.1, &[("TV-LED-43", 1)]))
                .await;
            assert_eq!(res.status(), 201);
            let o: Value = res.json().await.expect("json");
            o["id"].as_i64().expect("id")
        }
    };
    let eu_order = place(channel_a.clone(), "a-eu", VARESE).await;
    let asia_order = place(channel_a.clone(), "a-asia", SEOUL).await;
    let b_order = place(channel_b.clone(), "b-eu", VARESE).await;
    let status = |res: reqwest::Response| res.status().as_u16();

    // No token at all.
    assert_eq!(
        status(
            app.client
                .get(app.url("/api/v1/orders"))
                .send()
                .await
                .expect("req")
        ),
        401
    );

    // Channels: create, read their own; nothing else.
    assert_eq!(
        status(
            app.get(&channel_a, &format!("/api/v1/orders/{eu_order}"))
                .await
        ),
        200
    );
    assert_eq!(
        status(
            app.get(&channel_a, &format!("/api/v1/orders/{b_order}"))
                .await
        ),
        404
    );
    assert_eq!(
        status(
            app.get(&channel_b, &format!("/api/v1/orders/{eu_order}"))
                .await
        ),
        404
    );
    assert_eq!(app.all_orders(&channel_a).await.len(), 2);
    assert_eq!(app.all_orders(&channel_b).await.len(), 1);
    assert_eq!(
        status(
            app.post(
                &channel_a,
                &format!("/api/v1/orders/{b_order}/cancel"),
                &json!({})
            )
            .await
        ),
        404,
        "a channel may cancel its own orders only, and others' do not exist for it"
    );
    assert_eq!(status(app.get(&channel_a, "/api/v1/stock").await), 403);
    assert_eq!(
        status(app.get(&channel_a, "/api/v1/production-orders").await),
        403
    );
    let receipt = json!({"site": "wh-varese", "sku": "TV-LED-43", "qty": 1});
    assert_eq!(
        status(
            app.post(&channel_a, "/api/v1/stock/receipts", &receipt)
                .await
        ),
        403
    );
    assert_eq!(
        status(
            app.post(&channel_a, "/api/v1/tokens", &json!({"role": "admin"}))
                .await
        ),
        403
    );

    // A Europe planner: Europe's orders and stock only; Asia's orders do not exist for it.
    assert_eq!(
        status(
            app.get(&europe, &format!("/api/v1/orders/{eu_order}"))
                .await
        ),
        200
    );
    assert_eq!(
        status(
            app.get(&europe, &format!("/api/v1/orders/{asia_order}"))
                .await
        ),
        404
    );
    let seen = app.all_orders(&europe).await;
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|o| o["region"] == "europe"));
    assert_eq!(
        status(app.get(&europe, "/api/v1/orders?region=asia").await),
        403
    );
    assert_eq!(
        status(
            app.post_order(
                &europe,
                "p",
                &order("p", VARESE.0, VARESE.1, &[("TV-LED-43", 1)])
            )
            .await
        ),
        403
    );
    assert_eq!(
        status(app.post(&europe, "/api/v1/stock/receipts", &receipt).await),
        201
    );
    let asia_receipt = json!({"site": "wh-seoul", "sku": "TV-LED-43", "qty": 1});
    assert_eq!(
        status(
            app.post(&europe, "/api/v1/stock/receipts", &asia_receipt)
                .await
        ),
        403
    );
    assert_eq!(
        status(
            app.post(&asia, "/api/v1/stock/receipts", &asia_receipt)
                .await
        ),
        201
    );
    let stock: Value = app
        .get(&europe, "/api/v1/stock")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(stock.as_array().expect("rows").len(), 1);
    assert_eq!(
        status(app.get(&europe, "/api/v1/stock?site=wh-seoul").await),
        403
    );
    let europe_production = app.all(&europe, "/api/v1/production-orders").await;
    assert!(europe_production.iter().all(|p| p["region"] == "europe"));
    let asia_po = app.all(&asia, "/api/v1/production-orders").await;
    assert_eq!(asia_po.len(), 1);
    let asia_po = asia_po[0]["id"].as_i64().expect("po");
    assert_eq!(
        status(
            app.post(
                &europe,
                &format!("/api/v1/production-orders/{asia_po}/complete"),
                &json!({})
            )
            .await
        ),
        404
    );
    assert_eq!(
        status(
            app.post(
                &europe,
                &format!("/api/v1/orders/{asia_order}/cancel"),
                &json!({})
            )
            .await
        ),
        404
    );
    assert_eq!(
        status(
            app.post(
                &europe,
                &format!("/api/v1/orders/{b_order}/cancel"),
                &json!({})
            )
            .await
        ),
        200
    );
    assert_eq!(
        status(
            app.post(&europe, "/api/v1/tokens", &json!({"role": "channel"}))
                .await
        ),
        403
    );

    // The Asia planner mirrors it.
    assert_eq!(
        status(app.get(&asia, &format!("/api/v1/orders/{eu_order}")).await),
        404
    );
    assert_eq!(
        status(
            app.post(
                &asia,
                &format!("/api/v1/production-orders/{asia_po}/complete"),
                &json!({})
            )
            .await
        ),
        200
    );

    // An unscoped planner sees every region; the admin sees and may do everything.
    assert_eq!(app.all_orders(&planner).await.len(), 3);
    assert_eq!(
        status(
            app.get(&planner, &format!("/api/v1/orders/{asia_order}"))
                .await
        ),
        200
    );
    assert_eq!(app.all_orders(&app.admin).await.len(), 3);
    assert_eq!(
        status(
            app.post(
                &app.admin,
                &format!("/api/v1/orders/{asia_order}/cancel"),
                &json!({})
            )
            .await
        ),
        200
    );
    assert_eq!(
        status(
            app.post(
                &app.admin,
                "/api/v1/tokens",
                &json!({"role": "planner", "region": "asia"})
            )
            .await
        ),
        201
    );
}

/// Regression: a channel could not cancel its own order (403).
#[tokio::test]
async fn a_channel_cancels_its_own_orders() {
    let Some(app) = spawn_app().await else { return };
    app.receipt("wh-varese", "TV-LED-43", 2).await;
    let channel = app.token("channel", None).await;
    let res = app
        .post_order(
            &channel,
            "mine",
            &order("mine", VARESE.0, VARESE.1, &[("TV-LED-43", 1)]),
        )
        .await;
    let id = res.json::<Value>().await.expect("json")["id"]
        .as_i64()
        .expect("id");
    let res = app
        .post(&channel, &format!("/api/v1/orders/{id}/cancel"), &json!({}))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.expect("json")["status"],
        "cancelled"
    );
    assert_eq!(app.balance("wh-varese", "TV-LED-43").await, (2, 0, 2));
}

/// Two API processes on one store: a token revoked through one stops working on the other
/// once the other's cached entry is older than `TOKEN_CACHE_TTL`, and not a moment later.
#[tokio::test]
async fn a_revocation_reaches_another_process_within_the_cache_ttl() {
    let clock = ManualClock::new("2026-11-23T09:00:00Z".parse().expect("instant"));
    let Some(app) = spawn_app_on(&clock).await else {
        return;
    };
    let other = app.peer(clock.boxed()).await;
    let res = app
        .post(
            &app.admin,
            "/api/v1/tokens",
            &json!({"role": "channel", "principal": "shop"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let minted = res.json::<Value>().await.expect("json");
    let token = minted["token"].as_str().expect("secret").to_string();
    let id = minted["id"].as_i64().expect("id");
    let list = |url: String| {
        let app = &app;
        let token = token.clone();
        async move {
            app.client
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("request")
                .status()
        }
    };
    // The other process resolves (and caches) the token.
    assert_eq!(list(other.url("/api/v1/orders")).await, 200);

    let res = app
        .client
        .delete(app.url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 200);
    assert_eq!(
        list(app.url("/api/v1/orders")).await,
        401,
        "the revoking process forgets at once"
    );

    // Just inside the TTL the other process still trusts its cache...
    clock.advance(rendan_api::TOKEN_CACHE_TTL - jiff::SignedDuration::from_millis(1));
    assert_eq!(list(other.url("/api/v1/orders")).await, 200);
    // ...and once the entry is older than the TTL it asks the store and refuses.
    clock.advance(jiff::SignedDuration::from_millis(1));
    assert_eq!(list(other.url("/api/v1/orders")).await, 401);
}
