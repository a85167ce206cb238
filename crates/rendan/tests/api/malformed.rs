//! A table of malformed requests: each gets its documented 4xx as problem+json naming the
//! field at fault, and the database is exactly as before.

use crate::helpers::{SEOUL, VARESE, order, spawn_app};
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    auth: Auth,
    key: Option<String>,
    content_type: &'static str,
    body: String,
    status: u16,
    field: Option<&'static str>,
}

enum Auth {
    Admin,
    None,
    Raw(&'static str),
}

fn good() -> Value {
    order("bad-1", VARESE.0, VARESE.1, &[("TV-LED-43", 1)])
}

fn with(f: impl FnOnce(&mut Value)) -> String {
    let mut v = good();
    f(&mut v);
    v.to_string()
}

fn post_order(name: &'static str, body: String, status: u16, field: Option<&'static str>) -> Case {
    Case {
        name,
        method: "POST",
        path: "/api/v1/orders".into(),
        auth: Auth::Admin,
        key: Some(format!("key-{}", name.replace(" ", "-"))),
        content_type: "application/json",
        body,
        status,
        field,
    }
}

fn call(
    name: &'static str,
    method: &'static str,
    path: &str,
    body: Value,
    status: u16,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        method,
        path: path.into(),
        auth: Auth::Admin,
        key: (method == "POST").then(|| format!("key-{}", name.replace(' ', "-"))),
        content_type: "application/json",
        body: if body.is_null() {
            String::new()
        } else {
            body.to_string()
        },
        status,
        field,
    }
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        post_order(
            "unknown top-level field",
            with(|v| v["coupon"] = json!("X")),
            422,
            Some("coupon"),
        ),
        post_order(
            "unknown customer field",
            with(|v| v["customer"]["zip"] = json!("1")),
            422,
            Some("customer.zip"),
        ),
        post_order(
            "missing lines",
            with(|v| drop(v.as_object_mut().map(|o| o.remove("lines")))),
            422,
            Some("lines"),
        ),
        post_order(
            "empty lines",
            with(|v| v["lines"] = json!([])),
            422,
            Some("lines"),
        ),
        post_order(
            "zero quantity",
            with(|v| v["lines"][0]["qty"] = json!(0)),
            422,
            Some("lines[0].qty"),
        ),
        post_order(
            "negative quantity",
            with(|v| v["lines"][0]["qty"] = json!(-3)),
            422,
            Some("lines[0].qty"),
        ),
        post_order(
            "fractional quantity",
            with(|v| v["lines"][0]["qty"] = json!(1.5)),
            422,
            Some("lines[0].qty"),
        ),
        post_order(
            "quantity as text",
            with(|v| v["lines"][0]["qty"] = json!("2")),
            422,
            Some("lines[0].qty"),
        ),
        post_order(
            "huge quantity",
            with(|v| v["lines"][0]["qty"] = json!(10_001)),
            422,
            Some("lines[0].qty"),
        ),
        post_order(
            "unknown SKU",
            with(|v| v["lines"][0]["sku"] = json!("NO-SUCH-SKU")),
            422,
            Some("lines[0].sku"),
        ),
        post_order(
            "malformed SKU",
            with(|v| v["lines"][0]["sku"] = json!("tv led 43")),
            422,
            Some("lines[0].sku"),
        ),
        post_order(
            "latitude beyond the pole",
            with(|v| v["customer"]["lat"] = json!(91.0)),
            422,
            Some("customer.lat"),
        ),
        post_order(
            "longitude out of range",
            with(|v| v["customer"]["lon"] = json!(-200.0)),
            422,
            Some("customer.lon"),
        ),
        post_order(
            "location no warehouse serves",
            with(|v| {
                v["customer"]["lat"] = json!(-48.0);
                v["customer"]["lon"] = json!(-123.0);
            }),
            422,
            Some("customer"),
        ),
        post_order(
            "unknown channel",
            with(|v| v["channel"] = json!("fax")),
            422,
            Some("channel"),
        ),
        post_order(
            "empty name",
            with(|v| v["customer"]["name"] = json!("  ")),
            422,
            Some("customer.name"),
        ),
        post_order(
            "phone without digits",
            with(|v| v["customer"]["phone"] = json!("call me")),
            422,
            Some("customer.phone"),
        ),
        post_order(
            "overlong external_ref",
            with(|v| v["external_ref"] = json!("r".repeat(200))),
            422,
            Some("external_ref"),
        ),
        post_order(
            "too many lines",
            with(|v| v["lines"] = json!(vec![json!({"sku": "TV-LED-43", "qty": 1}); 201])),
            422,
            Some("lines"),
        ),
        post_order("truncated JSON", r#"{"channel": "web", "#.into(), 400, None),
        post_order(
            "trailing garbage",
            format!("{} x", good()),
            400,
            Some("body"),
        ),
        post_order(
            "array instead of object",
            "[1, 2]".into(),
            422,
            Some("body"),
        ),
        post_order(
            "body over 1 MiB",
            with(|v| v["external_ref"] = json!("x".repeat(1 << 20))),
            413,
            Some("body"),
        ),
        call(
            "receipt of zero",
            "POST",
            "/api/v1/stock/receipts",
            json!({"site": "wh-varese", "sku": "TV-LED-43", "qty": 0}),
            422,
            Some("qty"),
        ),
        call(
            "negative receipt",
            "POST",
            "/api/v1/stock/receipts",
            json!({"site": "wh-varese", "sku": "TV-LED-43", "qty": -5}),
            422,
            Some("qty"),
        ),
        call(
            "receipt at unknown site",
            "POST",
            "/api/v1/stock/receipts",
            json!({"site": "wh-atlantis", "sku": "TV-LED-43", "qty": 5}),
            422,
            Some("site"),
        ),
        call(
            "receipt at a factory",
            "POST",
            "/api/v1/stock/receipts",
            json!({"site": "fx-qingdao", "sku": "TV-LED-43", "qty": 5}),
            422,
            Some("site"),
        ),
        call(
            "receipt of unknown SKU",
            "POST",
            "/api/v1/stock/receipts",
            json!({"site": "wh-varese", "sku": "NOPE", "qty": 5}),
            422,
            Some("sku"),
        ),
        call(
            "receipt with extra field",
            "POST",
            "/api/v1/stock/receipts",
            json!({"site": "wh-varese", "sku": "TV-LED-43", "qty": 5, "price": 1}),
            422,
            Some("price"),
        ),
        call(
            "unknown status filter",
            "GET",
            "/api/v1/orders?status=shipped",
            Value::Null,
            422,
            Some("status"),
        ),
        call(
            "limit zero",
            "GET",
            "/api/v1/orders?limit=0",
            Value::Null,
            422,
            Some("limit"),
        ),
        call(
            "unparseable date filter",
            "GET",
            "/api/v1/orders?created_from=yesterday",
            Value::Null,
            422,
            Some("created_from"),
        ),
        call(
            "unknown region filter",
            "GET",
            "/api/v1/orders?region=mars",
            Value::Null,
            422,
            Some("region"),
        ),
        call(
            "unknown production status filter",
            "GET",
            "/api/v1/production-orders?status=bogus",
            Value::Null,
            422,
            Some("status"),
        ),
        call(
            "a warehouse is not a factory",
            "GET",
            "/api/v1/production-orders?factory=wh-varese",
            Value::Null,
            422,
            Some("factory"),
        ),
        call(
            "unknown query parameter",
            "GET",
            "/api/v1/orders?colour=red",
            Value::Null,
            400,
            Some("colour"),
        ),
        call(
            "forged cursor",
            "GET",
            "/api/v1/orders?cursor=abc",
            Value::Null,
            422,
            Some("cursor"),
        ),
        call(
            "non-numeric order id",
            "GET",
            "/api/v1/orders/abc",
            Value::Null,
            404,
            None,
        ),
        call(
            "cancel a missing order",
            "POST",
            "/api/v1/orders/999999/cancel",
            Value::Null,
            404,
            None,
        ),
        call(
            "complete a missing production order",
            "POST",
            "/api/v1/production-orders/424242/complete",
            Value::Null,
            404,
            None,
        ),
        call(
            "token with unknown role",
            "POST",
            "/api/v1/tokens",
            json!({"role": "superuser"}),
            422,
            Some("role"),
        ),
        call(
            "admin token with a region",
            "POST",
            "/api/v1/tokens",
            json!({"role": "admin", "region": "europe"}),
            422,
            Some("region"),
        ),
        call(
            "planner for an unknown region",
            "POST",
            "/api/v1/tokens",
            json!({"role": "planner", "region": "atlantis"}),
            422,
            Some("region"),
        ),
        call(
            "wrong method",
            "PUT",
            "/api/v1/orders",
            json!({}),
            405,
            None,
        ),
    ];
    let mut no_key = post_order(
        "missing Idempotency-Key",
        good().to_string(),
        400,
        Some("Idempotency-Key"),
    );
    no_key.key = None;
    cases.push(no_key);
    let mut long_key = post_order(
        "overlong Idempotency-Key",
        good().to_string(),
        400,
        Some("Idempotency-Key"),
    );
    long_key.key = Some("k".repeat(300));
    cases.push(long_key);
    let mut text = post_order(
        "wrong content type",
        good().to_string(),
        415,
        Some("Content-Type"),
    );
    text.content_type = "text/plain";
    cases.push(text);
    let mut anon = post_order("no token", good().to_string(), 401, Some("Authorization"));
    anon.auth = Auth::None;
    cases.push(anon);
    let mut forged = post_order(
        "unknown token",
        good().to_string(),
        401,
        Some("Authorization"),
    );
    forged.auth = Auth::Raw("Bearer rdn_forged");
    cases.push(forged);
    let mut basic = post_order(
        "wrong auth scheme",
        good().to_string(),
        401,
        Some("Authorization"),
    );
    basic.auth = Auth::Raw("Basic YWRtaW46YWRtaW4=");
    cases.push(basic);
    cases
}

#[tokio::test]
async fn malformed_requests_get_problems_and_change_nothing() {
    let Some(app) = spawn_app().await else { return };
    app.receipt("wh-varese", "TV-LED-43", 5).await;
    let res = app
        .post_order(
            &app.admin,
            "seed",
            &order("seed", SEOUL.0, SEOUL.1, &[("TV-LED-43", 1)]),
        )
        .await;
    assert_eq!(res.status(), 201);
    let before = app.snapshot().await;
    let cases = cases();
    assert!(cases.len() >= 25);
    for case in cases {
        let method = reqwest::Method::from_bytes(case.method.as_bytes()).expect("method");
        let mut req = app.client.request(method, app.url(&case.path));
        req = match case.auth {
            Auth::Admin => req.bearer_auth(&app.admin),
            Auth::None => req,
            Auth::Raw(v) => req.header("Authorization", v),
        };
        if let Some(k) = &case.key {
            req = req.header("Idempotency-Key", k);
        }
        if !case.body.is_empty() {
            req = req
                .header("Content-Type", case.content_type)
                .body(case.body.clone());
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let ct = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = res.text().await.expect("body");
        assert_eq!(status, case.status, "{}: {text}", case.name);
        assert_eq!(ct, "application/problem+json", "{}", case.name);
        let problem: Value = serde_json::from_str(&text).expect("problem JSON");
        assert_eq!(problem["status"], case.status, "{}", case.name);
        assert!(
            problem["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{}",
            case.name
        );
        if let Some(field) = case.field {
            assert_eq!(problem["field"], field, "{}: {text}", case.name);
        }
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a malformed request changed the database"
    );
}
