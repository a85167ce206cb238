//! The order lifecycle: stock or production, promise dates, cancellation, completion, listing.

use crate::helpers::{SEOUL, VARESE, order, spawn_app, spawn_app_at};
use serde_json::{Value, json};

#[tokio::test]
async fn stock_first_then_make_to_order_with_an_honest_promise() {
    let Some(app) = spawn_app().await else { return };
    app.receipt("wh-varese", "REF-BM-340", 1).await;
    let body = order(
        "o-1",
        VARESE.0,
        VARESE.1,
        &[("REF-BM-340", 1), ("REF-BM-340", 1)],
    );
    let res = app.post_order(&app.admin, "k1", &body).await;
    assert_eq!(res.status(), 201);
    let o: Value = res.json().await.expect("json");
    assert_eq!(o["status"], "in_production");
    assert_eq!(o["region"], "europe");
    assert_eq!(
        o["lines"][0]["fulfilment"],
        json!({"kind": "stock", "site": "wh-varese"})
    );
    let line = &o["lines"][1]["fulfilment"];
    assert_eq!(line["kind"], "production");
    // REF-BM-340: Qingdao 6 days + ~14 days of transfer, or Varese 10 days + 1 day: Varese.
    assert_eq!(line["factory"], "fx-varese");
    let created: jiff::Timestamp = o["created_at"]
        .as_str()
        .expect("created_at")
        .parse()
        .expect("ts");
    // The promise is a local date at the serving warehouse (Varese): "today" is Varese's, not
    // UTC's (the two differ for an hour around midnight).
    let today = created
        .to_zoned(jiff::tz::TimeZone::get("Europe/Rome").expect("zone"))
        .date();
    let promised: jiff::civil::Date = o["promised_date"]
        .as_str()
        .expect("date")
        .parse()
        .expect("date");
    // 10 days lead + 1 day transfer (fx-varese to wh-varese is a few km) + 2 days delivery.
    assert_eq!((promised - today).get_days(), 13);
    assert_eq!(app.balance("wh-varese", "REF-BM-340").await, (1, 1, 0));

    // Completing the production order receives and reserves the goods; the order is ready.
    let po = line["production_order"].as_i64().expect("po");
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/production-orders/{po}/complete"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let done: Value = res.json().await.expect("json");
    assert_eq!(done["production_order"]["status"], "completed");
    assert_eq!(done["order"]["status"], "ready");
    assert_eq!(app.balance("wh-varese", "REF-BM-340").await, (2, 2, 0));
    let again = app
        .post(
            &app.admin,
            &format!("/api/v1/production-orders/{po}/complete"),
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), 409);

    // Cancelling releases both reservations; a second cancel names the state it is in.
    let id = o["id"].as_i64().expect("id");
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/orders/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.balance("wh-varese", "REF-BM-340").await, (2, 0, 2));
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/orders/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 409);
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["current_status"], "cancelled");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .contains("cancelled")
    );
    let report = rendan_store::ledger::check(app.store.as_ref())
        .await
        .expect("ledger");
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );
}

#[tokio::test]
async fn cancelling_an_order_in_production_cancels_its_production_order() {
    let Some(app) = spawn_app().await else { return };
    let res = app
        .post_order(
            &app.admin,
            "k",
            &order("p", SEOUL.0, SEOUL.1, &[("AC-SPL-12", 3)]),
        )
        .await;
    let o: Value = res.json().await.expect("json");
    let id = o["id"].as_i64().expect("id");
    assert_eq!(o["region"], "asia");
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/orders/{id}/cancel"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let pos = app
        .all(&app.admin, "/api/v1/production-orders?status=cancelled")
        .await;
    assert_eq!(pos.len(), 1);
    assert_eq!(pos[0]["order_id"], id);
    let po = pos[0]["id"].as_i64().expect("po");
    let res = app
        .post(
            &app.admin,
            &format!("/api/v1/production-orders/{po}/complete"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn listing_filters_and_paginates() {
    let Some(app) = spawn_app().await else { return };
    for i in 0..7 {
        let (lat, lon) = if i % 2 == 0 { VARESE } else { SEOUL };
        let mut body = order(&format!("l{i}"), lat, lon, &[("TV-LED-43", 1)]);
        if i == 6 {
            body["channel"] = json!("store");
        }
        assert_eq!(
            app.post_order(&app.admin, &format!("l{i}"), &body)
                .await
                .status(),
            201
        );
    }
    let page: Value = app
        .get(&app.admin, "/api/v1/orders?limit=3")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["items"].as_array().expect("items").len(), 3);
    let ids: Vec<i64> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| o["id"].as_i64().expect("id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(app.all_orders(&app.admin).await.len(), 7);
    assert_eq!(
        app.all(&app.admin, "/api/v1/orders?region=europe")
            .await
            .len(),
        4
    );
    assert_eq!(
        app.all(&app.admin, "/api/v1/orders?channel=store")
            .await
            .len(),
        1
    );
    assert_eq!(
        app.all(&app.admin, "/api/v1/orders?status=in_production")
            .await
            .len(),
        7
    );
    assert_eq!(
        app.all(&app.admin, "/api/v1/orders?created_to=2000-01-01T00:00:00Z")
            .await
            .len(),
        0
    );
    assert_eq!(
        app.all(
            &app.admin,
            "/api/v1/orders?created_from=2000-01-01T00:00:00Z"
        )
        .await
        .len(),
        7
    );
}

#[tokio::test]
async fn catalogue_health_metrics_and_openapi() {
    let Some(app) = spawn_app().await else { return };
    let products: Value = app
        .get(&app.admin, "/api/v1/products")
        .await
        .json()
        .await
        .expect("json");
    assert!(products.as_array().expect("products").len() >= 30);
    let sites: Value = app
        .get(&app.admin, "/api/v1/sites")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        sites
            .as_array()
            .expect("sites")
            .iter()
            .filter(|s| s["kind"] == "warehouse")
            .count(),
        16
    );
    let nodes: Value = app
        .get(&app.admin, "/api/v1/nodes")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(nodes.as_array().expect("nodes").len(), 16);
    let doc: Value = app
        .get(&app.admin, "/api/v1/openapi.json")
        .await
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3.1"));
    assert!(doc["paths"]["/orders"]["post"].is_object());
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("health");
    assert_eq!(health.status(), 200);
    app.post_order(
        &app.admin,
        "m",
        &order("m", VARESE.0, VARESE.1, &[("TV-LED-43", 1)]),
    )
    .await;
    rendan_api::install_metrics();
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        metrics.contains("rendan_orders{status=\"in_production\"} 1"),
        "{metrics}"
    );
}

/// Regression: the same channel and external_ref with a new Idempotency-Key used to create a
/// second order and a second reservation.
#[tokio::test]
async fn a_reference_already_used_by_the_channel_is_a_conflict_naming_the_order() {
    let Some(app) = spawn_app().await else { return };
    app.receipt("wh-varese", "TV-LED-43", 5).await;
    let channel = app.token("channel", None).await;
    let body = order("W-77", VARESE.0, VARESE.1, &[("TV-LED-43", 1)]);
    let res = app.post_order(&channel, "first", &body).await;
    assert_eq!(res.status(), 201);
    let id = res.json::<Value>().await.expect("json")["id"].clone();
    let res = app.post_order(&channel, "second", &body).await;
    assert_eq!(res.status(), 409);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().await.expect("json");
    assert_eq!(problem["field"], "external_ref");
    assert_eq!(problem["existing_order"], id);
    assert!(
        problem["type"]
            .as_str()
            .expect("type")
            .ends_with("duplicate-external-ref")
    );
    assert_eq!(app.balance("wh-varese", "TV-LED-43").await, (5, 1, 4));
    // Another channel may use the same reference for its own order.
    let other = app.token("channel", None).await;
    assert_eq!(app.post_order(&other, "first", &body).await.status(), 201);
}

/// Regression: only the first validation error was reported, and `region=mars` answered 200
/// with an empty list.
#[tokio::test]
async fn every_validation_error_is_reported_at_once() {
    let Some(app) = spawn_app().await else { return };
    let res = app
        .get(
            &app.admin,
            "/api/v1/orders?status=bogus&region=mars&limit=0",
        )
        .await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["status", "region", "limit"], "{problem}");
    assert_eq!(problem["field"], "status");

    let mut body = order("", VARESE.0, VARESE.1, &[("TV-LED-43", 0), ("NOPE!", 1)]);
    body["customer"]["lat"] = json!(95.0);
    let res = app.post_order(&app.admin, "bad", &body).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        [
            "external_ref",
            "customer.lat",
            "lines[0].qty",
            "lines[1].sku"
        ],
        "{problem}"
    );

    // A body of the wrong shape: every type, missing and unknown field is named at once, not
    // only the first one the parser meets.
    let mut body = order(
        "shape",
        VARESE.0,
        VARESE.1,
        &[("TV-LED-43", 1), ("TV-LED-43", 1)],
    );
    body["customer"]["lat"] = json!("north");
    body["customer"]
        .as_object_mut()
        .expect("customer")
        .remove("phone");
    body["lines"][0]["qty"] = json!("one");
    body["lines"][1]["colour"] = json!("red");
    body["priority"] = json!(true);
    let before = app.snapshot().await;
    let res = app.post_order(&app.admin, "shape", &body).await;
    assert_eq!(res.status(), 422);
    let problem: Value = res.json().await.expect("json");
    let mut fields: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["field"].as_str().expect("field"))
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "customer.lat",
            "customer.phone",
            "lines[0].qty",
            "lines[1].colour",
            "priority"
        ],
        "{problem}"
    );
    assert_eq!(app.snapshot().await, before, "nothing changed");
}

/// Regression: promise dates were UTC dates, so a Seoul order placed early in the morning was
/// promised a day early.
#[tokio::test]
async fn a_seoul_morning_order_is_promised_from_the_local_date() {
    // 07:30 in Seoul on 22 November is 22:30 UTC on the 21st.
    let Some(app) = spawn_app_at("2026-11-21T22:30:00Z".parse().expect("instant")).await else {
        return;
    };
    app.receipt("wh-seoul", "TV-LED-43", 1).await;
    let res = app
        .post_order(
            &app.admin,
            "seoul-1",
            &order("seoul-1", SEOUL.0, SEOUL.1, &[("TV-LED-43", 1)]),
        )
        .await;
    assert_eq!(res.status(), 201);
    let o: Value = res.json().await.expect("json");
    assert_eq!(o["lines"][0]["fulfilment"]["site"], "wh-seoul");
    // From stock: the local date plus the 2 delivery days (UTC would say the 23rd).
    assert_eq!(o["promised_date"], "2026-11-24");

    // A production line's ready date is local to the factory; its promise to Seoul.
    let res = app
        .post_order(
            &app.admin,
            "seoul-2",
            &order("seoul-2", SEOUL.0, SEOUL.1, &[("TV-LED-43", 1)]),
        )
        .await;
    let o: Value = res.json().await.expect("json");
    let po = o["lines"][0]["fulfilment"]["production_order"]
        .as_i64()
        .expect("made to order");
    let pos = app.all(&app.admin, "/api/v1/production-orders").await;
    let p = pos.iter().find(|p| p["id"] == po).expect("listed");
    let factory = p["factory"].as_str().expect("factory").to_string();
    let nodes: Value = app
        .get(&app.admin, "/api/v1/nodes")
        .await
        .json()
        .await
        .expect("json");
    let sites: Value = app
        .get(&app.admin, "/api/v1/sites")
        .await
        .json()
        .await
        .expect("json");
    let node = sites
        .as_array()
        .expect("sites")
        .iter()
        .find(|s| s["id"] == factory.as_str())
        .expect("factory site")["node"]
        .clone();
    let zone = nodes
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == node)
        .expect("node")["zone"]
        .as_str()
        .expect("zone")
        .to_string();
    let local: jiff::civil::Date = "2026-11-21T22:30:00Z"
        .parse::<jiff::Timestamp>()
        .expect("instant")
        .to_zoned(jiff::tz::TimeZone::get(&zone).expect("zone"))
        .date();
    let ready: jiff::civil::Date = p["ready_date"]
        .as_str()
        .expect("date")
        .parse()
        .expect("date");
    let products: Value = app
        .get(&app.admin, "/api/v1/products")
        .await
        .json()
        .await
        .expect("json");
    let lead = products
        .as_array()
        .expect("products")
        .iter()
        .find(|p| p["sku"] == "TV-LED-43")
        .expect("product")["makers"]
        .as_array()
        .expect("makers")
        .iter()
        .find(|m| m["factory"] == factory.as_str())
        .expect("maker")["lead_days"]
        .as_i64()
        .expect("lead");
    assert_eq!(
        ready,
        local.saturating_add(jiff::Span::new().days(lead)),
        "{zone}: the ready date counts from the factory's local date"
    );
}
