//! The HTTP router without a socket: shapes of the answers and problem+json for bad input.

use crate::reports::prepared;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rendan_netwatch::http::router;
use serde_json::Value;
use tower::ServiceExt;

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: &str,
) -> (StatusCode, String, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, ct, v)
}

async fn problem(app: &axum::Router, method: &str, uri: &str, body: &str, field: &str) {
    let (s, ct, v) = call(app, method, uri, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {v}");
    assert_eq!(ct, "application/problem+json");
    assert_eq!(v["field"], field, "{uri}: {v}");
    assert_eq!(v["status"], 400);
    assert!(v["type"].is_string() && v["title"].is_string() && v["detail"].is_string());
}

#[tokio::test]
async fn availability_shape() {
    let app = router(prepared().await);
    let (s, _, v) = call(
        &app,
        "GET",
        "/network/availability?from=2026-11-05T00:00:00Z&to=2026-11-06T00:00:00Z",
        "",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["from"], "2026-11-05T00:00:00Z");
    let a = &v["nodes"][0];
    assert_eq!(a["id"], "alpha");
    assert_eq!(a["region"], "asia");
    assert_eq!(a["slices"]["down"], 60);
    assert_eq!(a["slices"]["up"], 1380);
    assert_eq!(a["slices"]["no_data"], 0);
    assert!((a["availability"].as_f64().unwrap() - 100.0 * 1380.0 / 1440.0).abs() < 1e-9);
    assert_eq!(v["regions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let app = router(prepared().await);
    problem(
        &app,
        "GET",
        "/network/availability?to=2026-11-06T00:00:00Z",
        "",
        "from",
    )
    .await;
    problem(
        &app,
        "GET",
        "/network/availability?from=yesterday&to=2026-11-06T00:00:00Z",
        "",
        "from",
    )
    .await;
    problem(
        &app,
        "GET",
        "/network/availability?from=2026-11-06T00:00:00Z&to=2026-11-05T00:00:00Z",
        "",
        "to",
    )
    .await;
    problem(&app, "GET", "/network/sla?month=2026-13", "", "month").await;
    problem(&app, "GET", "/network/sla", "", "month").await;
    problem(
        &app,
        "GET",
        "/network/sla?month=2026-11&format=pdf",
        "",
        "format",
    )
    .await;
    problem(&app, "GET", "/network/incidents?node=nowhere", "", "node").await;
    problem(
        &app,
        "GET",
        "/network/incidents?node=Not%20A%20Node",
        "",
        "node",
    )
    .await;
    problem(&app, "POST", "/network/maintenance", "{", "body").await;
    problem(&app, "POST", "/network/maintenance", r#"{"node":"alpha","weekly":{"weekday":"sunday","at":"02:00","duration":"2h","tz":"Mars/Olympus"}}"#, "weekly.tz").await;
    problem(
        &app,
        "POST",
        "/network/maintenance",
        r#"{"node":"alpha","start":"2026-11-02T00:00:00Z","end":"2026-11-01T00:00:00Z"}"#,
        "end",
    )
    .await;
    problem(&app, "POST", "/network/maintenance", r#"{"node":"alpha","region":"asia","start":"2026-11-01T00:00:00Z","end":"2026-11-02T00:00:00Z"}"#, "node").await;
    problem(&app, "DELETE", "/network/maintenance/abc", "", "id").await;
}

#[tokio::test]
async fn incidents_sla_and_maintenance() {
    let app = router(prepared().await);
    let (s, _, v) = call(&app, "GET", "/network/incidents?node=alpha", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["opened_at"], "2026-10-31T15:50:00Z");
    assert_eq!(v[0]["closed_at"], "2026-10-31T16:20:00Z");
    assert_eq!(v[0]["slices"], 30);
    let (s, _, v) = call(&app, "GET", "/network/incidents?node=bravo", "").await;
    assert_eq!((s, v.as_array().unwrap().len()), (StatusCode::OK, 0));

    let (s, _, v) = call(&app, "GET", "/network/sla?month=2026-11", "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["month"], "2026-11");
    assert_eq!(v["nodes"][0]["incidents"], 2);
    assert_eq!(v["nodes"][0]["maintenance_min"], 120.0);
    let (s, ct, _) = call(&app, "GET", "/network/sla?month=2026-11&format=html", "").await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::OK, "text/html; charset=utf-8")
    );

    let (s, _, w) = call(
        &app,
        "POST",
        "/network/maintenance",
        r#"{"region":"europe","weekly":{"weekday":"sun","at":"02:00","duration":"2h","tz":"Europe/Rome"},"note":"patching"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    assert_eq!(w["weekly"]["weekday"], "sunday");
    assert_eq!(w["weekly"]["tz"], "Europe/Rome");
    let (_, _, list) = call(&app, "GET", "/network/maintenance", "").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    // Recorded now, the weekly window masks only from its announcement on: November's
    // Sundays keep what was measured.
    let (_, _, v) = call(&app, "GET", "/network/sla?month=2026-11", "").await;
    assert_eq!(v["nodes"][1]["maintenance_min"], 0.0, "{}", v["nodes"][1]);
    let id = w["id"].as_i64().unwrap();
    let (s, _, _) = call(&app, "DELETE", &format!("/network/maintenance/{id}"), "").await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, v) = call(&app, "DELETE", &format!("/network/maintenance/{id}"), "").await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(v["field"], "id");
}

/// The router as the platform mounts it, with `principal` as the authenticated caller.
fn as_principal(nw: rendan_netwatch::Netwatch, role: rendan_domain::access::Role) -> axum::Router {
    let principal = rendan_domain::access::Principal {
        id: 7,
        name: "caller".into(),
        token_id: 7,
        role,
    };
    router(nw).layer(axum::Extension(principal))
}

/// A planner scoped to a region sees only that region's nodes, incidents, windows and report
/// lines; asking for another region's node is a 404; a crew or channel sees nothing.
#[tokio::test]
async fn a_scoped_planner_sees_only_its_region() {
    use rendan_domain::Region;
    use rendan_domain::access::Role;
    let nw = prepared().await;
    let europe = Role::Planner {
        region: Some(Region::parse("europe", "r").unwrap()),
    };
    let app = as_principal(nw.clone(), europe);
    let (s, _, v) = call(&app, "GET", "/network/state", "").await;
    assert_eq!(s, StatusCode::OK);
    let ids: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["bravo"]);
    let (_, _, v) = call(
        &app,
        "GET",
        "/network/availability?from=2026-11-05T00:00:00Z&to=2026-11-06T00:00:00Z",
        "",
    )
    .await;
    assert_eq!(v["nodes"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["nodes"][0]["id"], "bravo");
    assert!(
        v["regions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] == "europe"),
        "{v}"
    );
    let (_, _, v) = call(&app, "GET", "/network/incidents", "").await;
    assert!(
        v.as_array().unwrap().iter().all(|i| i["node"] == "bravo"),
        "alpha's incidents are Asia's: {v}"
    );
    let (s, _, _) = call(&app, "GET", "/network/incidents?node=alpha", "").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, _, v) = call(&app, "GET", "/network/sla?month=2026-11", "").await;
    let nodes: Vec<&str> = v["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["bravo"]);
    // The same store, unscoped: both nodes, alpha's incidents.
    let all = as_principal(nw.clone(), Role::Planner { region: None });
    let (_, _, v) = call(&all, "GET", "/network/state", "").await;
    assert_eq!(v["nodes"].as_array().unwrap().len(), 2);
    let (_, _, v) = call(&all, "GET", "/network/incidents?node=alpha", "").await;
    assert!(!v.as_array().unwrap().is_empty(), "{v}");
    for role in [Role::Crew { crew: 1 }, Role::Channel] {
        let none = as_principal(nw.clone(), role);
        let (_, _, v) = call(&none, "GET", "/network/state", "").await;
        assert_eq!(v["nodes"], serde_json::json!([]));
        let (_, _, v) = call(&none, "GET", "/network/incidents", "").await;
        assert_eq!(v, serde_json::json!([]));
    }
}
