//! The network watch's routes through the platform's HTTP toolkit: typed views, problem+json
//! with the platform's status policy, pagination, scopes, idempotent window creation, and the
//! append-only maintenance record.

use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use jiff::Timestamp;
use rendan_domain::NodeId;
use rendan_netwatch::incident::TimelineEntry;
use rendan_netwatch::maintenance::{Schedule, Scope, WindowSpec};
use rendan_netwatch::store::{NetwatchStore, SliceRow};
use rendan_netwatch::{MemoryStore, Netwatch, NetwatchConfig, SliceState};
use serde_json::{Value, json};
use std::sync::Arc;

fn ts(s: &str) -> Timestamp {
    s.parse().expect("instant")
}

/// The default topology's network watch over a memory store: seoul (Asia) down for an hour on
/// 5 November 2026 with its incident, varese (Europe) DEGRADED on the 20th, both UP otherwise
/// through November (Shanghai); a planned window on seoul announced on 1 November.
async fn prepared() -> Netwatch {
    let file = rendan_topology::load(None).expect("default topology");
    let cfg = NetwatchConfig::from_topology(&file).expect("netwatch settings");
    let store: Arc<dyn NetwatchStore> = Arc::new(MemoryStore::default());
    let (from, to) = (ts("2026-10-31T16:00:00Z"), ts("2026-11-30T16:00:00Z"));
    let outage = ts("2026-11-05T02:00:00Z").as_second();
    let bad_day = ts("2026-11-20T00:00:00Z").as_second();
    let mut rows = Vec::new();
    for s in (from.as_second()..to.as_second()).step_by(60) {
        for node in ["seoul", "varese"] {
            let state = if node == "seoul" && (outage..outage + 3600).contains(&s) {
                SliceState::Down
            } else if node == "varese" && (bad_day..bad_day + 86_400).contains(&s) {
                SliceState::Degraded
            } else {
                SliceState::Up
            };
            rows.push(SliceRow {
                node: NodeId::parse(node, "n").expect("id"),
                start: s,
                len_s: 60,
                state,
                measured: state,
                reporters: 1,
                down_votes: u16::from(state == SliceState::Down),
            });
        }
    }
    store.put_slices(&rows).await.expect("slices");
    let seoul = NodeId::parse("seoul", "n").expect("id");
    let entry = |at: &str, kind: &str| TimelineEntry {
        at: ts(at),
        kind: kind.into(),
        detail: String::new(),
    };
    let id = store
        .open_incident(
            &seoul,
            ts("2026-11-05T02:00:00Z"),
            &[entry("2026-11-05T02:00:00Z", "opened")],
            &[],
        )
        .await
        .expect("open");
    store
        .update_incident(
            id,
            Some(ts("2026-11-05T03:00:00Z")),
            &[entry("2026-11-05T03:00:00Z", "closed")],
            &[],
        )
        .await
        .expect("close");
    store
        .create_window(
            &WindowSpec {
                scope: Scope::Node(seoul),
                schedule: Schedule::OneOff {
                    start: ts("2026-11-10T00:00:00Z"),
                    end: ts("2026-11-10T02:00:00Z"),
                },
                note: "router swap".into(),
                emergency: false,
            },
            ts("2026-11-01T00:00:00Z"),
            "ops",
            None,
        )
        .await
        .expect("window");
    Netwatch::new(cfg, store).await.expect("netwatch")
}

async fn app() -> Option<TestApp> {
    spawn_app_with(prepared().await).await
}

async fn send(
    app: &TestApp,
    method: &str,
    token: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut req = app
        .client
        .request(method.parse().expect("method"), app.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = res.text().await.unwrap_or_default();
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "{path}: {text}");
    }
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Asserts a problem with `status` naming `field`.
fn problem(got: (u16, Value), status: u16, field: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["status"], status, "{}", got.1);
    if field.is_empty() {
        assert!(got.1["field"].is_null(), "{}", got.1);
    } else {
        assert_eq!(got.1["field"], field, "{}", got.1);
    }
    assert!(
        got.1["type"]
            .as_str()
            .is_some_and(|t| t.starts_with("urn:rendan:problem:"))
    );
}

#[tokio::test]
async fn the_network_routes_answer_in_the_platforms_shapes() {
    let Some(app) = app().await else { return };
    let admin = app.admin.clone();
    let (s, v) = send(&app, "GET", &admin, "/api/v1/network/state", None).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["nodes"].as_array().expect("nodes").len(), 16);
    assert_eq!(
        v["nodes"][0]["state"], "NO_DATA",
        "nothing probed in this test"
    );

    let (s, v) = send(
        &app,
        "GET",
        &admin,
        "/api/v1/network/availability?from=2026-11-05T00:00:00Z&to=2026-11-06T00:00:00Z",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let seoul = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == "seoul")
        .expect("seoul");
    assert_eq!(seoul["slices"]["down"], 60);
    assert_eq!(seoul["region"], "asia");

    let (s, v) = send(
        &app,
        "GET",
        &admin,
        "/api/v1/network/sla?month=2026-11",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["month"], "2026-11");
    assert_eq!(v["in_progress_at"], Value::Null, "November has ended");
    let seoul = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == "seoul")
        .expect("seoul");
    assert_eq!(seoul["maintenance_min"], 120.0);
    assert_eq!(seoul["used_down_min"], 60.0);
    assert_eq!(v["windows"][0]["note"], "router swap");
    assert_eq!(v["incidents"][0]["node"], "seoul");
    let res = app
        .get(&admin, "/api/v1/network/sla?month=2026-11&format=html")
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"].to_str().expect("ct"),
        "text/html; charset=utf-8"
    );

    let (s, v) = send(
        &app,
        "GET",
        &admin,
        "/api/v1/network/incidents?node=seoul",
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["opened_at"], "2026-11-05T02:00:00Z");
    assert_eq!(v["items"][0]["slices"], 60);
    assert_eq!(v["next_cursor"], Value::Null);

    // Every route is in the OpenAPI document.
    let (_, doc) = send(&app, "GET", &admin, "/api/v1/openapi.json", None).await;
    for path in [
        "/network/state",
        "/network/availability",
        "/network/incidents",
        "/network/sla",
        "/network/maintenance",
        "/network/maintenance/{id}",
        "/network/maintenance/{id}/versions",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is not documented");
    }
}

#[tokio::test]
async fn bad_network_requests_get_the_platforms_problems() {
    let Some(app) = app().await else { return };
    let a = app.admin.clone();
    let get = |path: &'static str| {
        let (app, a) = (&app, a.clone());
        async move { send(app, "GET", &a, path, None).await }
    };
    problem(
        get("/api/v1/network/availability?to=2026-11-06T00:00:00Z").await,
        422,
        "from",
    );
    problem(
        get("/api/v1/network/availability?from=yesterday&to=2026-11-06T00:00:00Z").await,
        422,
        "from",
    );
    problem(
        get("/api/v1/network/availability?from=2026-11-06T00:00:00Z&to=2026-11-05T00:00:00Z").await,
        422,
        "to",
    );
    problem(
        get("/api/v1/network/availability?from=2026-01-01T00:00:00Z&to=2026-06-01T00:00:00Z").await,
        422,
        "to",
    );
    problem(
        get("/api/v1/network/availability?from=2026-11-05T00:00:00Z&to=2026-11-06T00:00:00Z&contract=nope").await,
        422,
        "contract",
    );
    problem(get("/api/v1/network/sla").await, 422, "month");
    problem(get("/api/v1/network/sla?month=2026-13").await, 422, "month");
    problem(
        get("/api/v1/network/sla?month=2026-11&format=pdf").await,
        422,
        "format",
    );
    problem(
        get("/api/v1/network/incidents?node=atlantis").await,
        422,
        "node",
    );
    problem(get("/api/v1/network/incidents?limit=0").await, 422, "limit");
    problem(
        get("/api/v1/network/incidents?colour=red").await,
        400,
        "colour",
    );
    problem(
        get("/api/v1/network/maintenance/999/versions").await,
        404,
        "",
    );
    // Bodies: content type, unknown fields, each rule named.
    let res = app
        .client
        .post(app.url("/api/v1/network/maintenance"))
        .bearer_auth(&a)
        .header("Idempotency-Key", "nw-ct")
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 415);
    let post = |body: Value| {
        let (app, a) = (&app, a.clone());
        async move {
            let res = app.post(&a, "/api/v1/network/maintenance", &body).await;
            let s = res.status().as_u16();
            (s, res.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    problem(
        post(json!({"node": "seoul", "colour": 1})).await,
        422,
        "colour",
    );
    problem(
        post(json!({"node": "atlantis", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"})).await,
        422,
        "node",
    );
    problem(
        post(json!({"node": "seoul", "region": "asia", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T01:00:00Z"})).await,
        422,
        "node",
    );
    problem(
        post(json!({"node": "seoul", "start": "2030-01-01T01:00:00Z", "end": "2030-01-01T00:00:00Z"})).await,
        422,
        "end",
    );
    problem(
        post(json!({"region": "asia", "weekly": {"weekday": "someday", "at": "02:00", "duration": "2h", "tz": "Mars/Olympus"}})).await,
        422,
        "weekly.weekday",
    );
    problem(
        post(json!({"node": "seoul", "start": "2030-01-01T00:00:00Z", "end": "2030-01-01T00:00:00.5Z"})).await,
        422,
        "end",
    );
    problem(
        post(json!({"region": "asia", "weekly": {"weekday": "sun", "at": "02:00", "duration": "1500ms", "tz": "Asia/Seoul"}})).await,
        422,
        "weekly.duration",
    );
    // Nothing was recorded by any of them.
    let (_, v) = send(
        &app,
        "GET",
        &a,
        "/api/v1/network/maintenance?deleted=true",
        None,
    )
    .await;
    assert_eq!(v["items"].as_array().expect("items").len(), 1, "{v}");
}

#[tokio::test]
async fn windows_are_announced_versioned_and_idempotent() {
    let Some(app) = app().await else { return };
    let a = app.admin.clone();
    let soon = Timestamp::now() + jiff::SignedDuration::from_mins(30);
    let later = Timestamp::now() + jiff::SignedDuration::from_hours(48);
    let body = |start: Timestamp, emergency: bool| {
        json!({"node": "varese", "start": start.to_string(),
               "end": (start + jiff::SignedDuration::from_hours(2)).to_string(),
               "note": "CHG-9", "emergency": emergency})
    };
    // Too short a notice: refused, naming start and the way out.
    let res = app
        .post(&a, "/api/v1/network/maintenance", &body(soon, false))
        .await;
    let got = (
        res.status().as_u16(),
        res.json::<Value>().await.expect("json"),
    );
    assert!(
        got.1["detail"]
            .as_str()
            .expect("detail")
            .contains("emergency")
    );
    problem(got, 422, "start");
    // Without a key: 400.
    let res = app
        .client
        .post(app.url("/api/v1/network/maintenance"))
        .bearer_auth(&a)
        .json(&body(later, false))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), 400);
    // Planned, with a key; the retry finds the same window, another body under it is a 409.
    let first = app
        .post_with_key(
            &a,
            "chg-9",
            "/api/v1/network/maintenance",
            &body(later, false),
        )
        .await;
    assert_eq!(first.status(), 201);
    let w: Value = first.json().await.expect("json");
    let retry = app
        .post_with_key(
            &a,
            "chg-9",
            "/api/v1/network/maintenance",
            &body(later, false),
        )
        .await;
    assert_eq!(retry.status(), 200);
    assert_eq!(retry.json::<Value>().await.expect("json")["id"], w["id"]);
    let other = app
        .post_with_key(
            &a,
            "chg-9",
            "/api/v1/network/maintenance",
            &body(later, true),
        )
        .await;
    assert_eq!(other.status(), 409);
    // An emergency window after the fact is accepted and flagged.
    let past = ts("2026-11-20T00:00:00Z");
    let res = app
        .post(&a, "/api/v1/network/maintenance", &body(past, true))
        .await;
    assert_eq!(res.status(), 201);
    let e: Value = res.json().await.expect("json");
    assert_eq!(e["emergency"], true);
    assert_eq!(e["created_by"], "admin");
    // A change is a new version; the same change again records nothing.
    let id = w["id"].as_i64().expect("id");
    let path = format!("/api/v1/network/maintenance/{id}");
    let mut changed = body(later, false);
    changed["note"] = json!("CHG-9 extended");
    let (s, v) = send(&app, "PUT", &a, &path, Some(&changed)).await;
    assert_eq!((s, v["version"].clone()), (200, json!(2)), "{v}");
    let (s, v) = send(&app, "PUT", &a, &path, Some(&changed)).await;
    assert_eq!((s, v["version"].clone()), (200, json!(2)), "{v}");
    // Deleting is the last version; deleting again is the same deletion.
    assert_eq!(send(&app, "DELETE", &a, &path, None).await.0, 204);
    assert_eq!(send(&app, "DELETE", &a, &path, None).await.0, 204);
    problem(
        send(&app, "PUT", &a, &path, Some(&changed)).await,
        409,
        "id",
    );
    let (s, v) = send(&app, "GET", &a, &format!("{path}/versions"), None).await;
    assert_eq!(s, 200);
    let versions: Vec<(i64, String, bool)> = v
        .as_array()
        .expect("versions")
        .iter()
        .map(|x| {
            (
                x["version"].as_i64().expect("v"),
                x["note"].as_str().expect("note").to_string(),
                x["deleted_at"].is_string(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            (1, "CHG-9".to_string(), false),
            (2, "CHG-9 extended".to_string(), false),
            (3, "CHG-9 extended".to_string(), true)
        ]
    );
    problem(
        send(&app, "DELETE", &a, "/api/v1/network/maintenance/999", None).await,
        404,
        "",
    );
    // Listing: deleted windows only when asked, a page at a time.
    let (_, v) = send(&app, "GET", &a, "/api/v1/network/maintenance", None).await;
    assert_eq!(v["items"].as_array().expect("items").len(), 2, "{v}");
    let (_, v) = send(
        &app,
        "GET",
        &a,
        "/api/v1/network/maintenance?deleted=true&limit=2",
        None,
    )
    .await;
    assert_eq!(v["items"].as_array().expect("items").len(), 2, "{v}");
    let cursor = v["next_cursor"].as_str().expect("a next page").to_string();
    let (_, v) = send(
        &app,
        "GET",
        &a,
        &format!("/api/v1/network/maintenance?deleted=true&limit=2&cursor={cursor}"),
        None,
    )
    .await;
    assert_eq!(v["items"].as_array().expect("items").len(), 1, "{v}");
    assert_eq!(v["next_cursor"], Value::Null);
}

/// A planner scoped to a region sees only that region's nodes, incidents, windows and report
/// lines; naming another region's node is as unknown as naming no node; crews and channels are
/// refused; only admins record windows.
#[tokio::test]
async fn scopes_and_roles_hold_on_the_network_routes() {
    let Some(app) = app().await else { return };
    let europe = app.token("planner", Some("europe")).await;
    let (s, v) = send(&app, "GET", &europe, "/api/v1/network/state", None).await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = v["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["varese", "moscow"]);
    let (_, v) = send(
        &app,
        "GET",
        &europe,
        "/api/v1/network/sla?month=2026-11",
        None,
    )
    .await;
    assert!(
        v["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .all(|n| n["region"] == "europe"),
        "{v}"
    );
    assert_eq!(v["windows"], json!([]), "seoul's window is Asia's");
    assert_eq!(v["incidents"], json!([]), "seoul's incident is Asia's");
    let (_, v) = send(&app, "GET", &europe, "/api/v1/network/incidents", None).await;
    assert_eq!(v["items"], json!([]));
    problem(
        send(
            &app,
            "GET",
            &europe,
            "/api/v1/network/incidents?node=seoul",
            None,
        )
        .await,
        422,
        "node",
    );
    let (_, v) = send(&app, "GET", &europe, "/api/v1/network/maintenance", None).await;
    assert_eq!(v["items"], json!([]));
    problem(
        send(
            &app,
            "GET",
            &europe,
            "/api/v1/network/maintenance/1/versions",
            None,
        )
        .await,
        404,
        "",
    );
    let later = (Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string();
    let res = app
        .post(
            &europe,
            "/api/v1/network/maintenance",
            &json!({"node": "varese", "start": later, "end": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(res.status(), 403);
    let asia = app.token("planner", Some("asia")).await;
    let (_, v) = send(
        &app,
        "GET",
        &asia,
        "/api/v1/network/incidents?node=seoul",
        None,
    )
    .await;
    assert_eq!(v["items"].as_array().expect("items").len(), 1);
    let channel = app.token("channel", None).await;
    problem(
        send(&app, "GET", &channel, "/api/v1/network/state", None).await,
        403,
        "",
    );
    // A crew's device reads no network operations either.
    let res = app
        .post(
            &app.admin,
            "/api/v1/crews",
            &json!({"depot": "dp-varese", "name": "Ops", "skills": [], "truck": {"kg": 500.0, "m3": 5.0}}),
        )
        .await;
    let crew_id = res.json::<Value>().await.expect("json")["id"].clone();
    let crew = app
        .token_for(&json!({"role": "crew", "crew": crew_id}))
        .await;
    problem(
        send(&app, "GET", &crew, "/api/v1/network/incidents", None).await,
        403,
        "",
    );
    let res = app
        .client
        .get(app.url("/api/v1/network/state"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 401);
}

/// Without the network watch (`serve --no-netwatch`) its routes are a plain 404.
#[tokio::test]
async fn without_the_network_watch_its_routes_are_not_found() {
    let Some(app) = spawn_app().await else { return };
    let (s, v) = send(
        &app,
        "GET",
        &app.admin.clone(),
        "/api/v1/network/state",
        None,
    )
    .await;
    assert_eq!(s, 404, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .expect("detail")
            .contains("--no-netwatch")
    );
}

/// Incident notices wait in the outbox across a crash: `rendan netwatch` opens incidents while
/// the receiver refuses them, is killed with SIGKILL, and after a restart every node's
/// `incident.opened` arrives, signed, exactly as recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incident_notices_survive_sigkill() {
    use std::process::{Command, Stdio};
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};
    const SECRET: &str = "a-netwatch-webhook-secret";
    // A receiver that refuses until told to accept; it records what it accepted.
    let accept = Arc::new(AtomicBool::new(false));
    /// Signature header and body of each accepted delivery.
    type Accepted = Arc<Mutex<Vec<(String, Vec<u8>)>>>;
    let got: Accepted = Arc::default();
    let (a, g) = (accept.clone(), got.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |h: axum::http::HeaderMap, body: axum::body::Bytes| {
            let (a, g) = (a.clone(), g.clone());
            async move {
                if !a.load(Ordering::SeqCst) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let sig = h
                    .get("rendan-signature")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                g.lock().expect("got").push((sig, body.to_vec()));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    // The built-in topology with its agents moved to addresses where nothing listens.
    let dir = tempfile::tempdir().expect("tempdir");
    let text = rendan_topology::DEFAULT_TOML.replace("127.0.0.1:74", "127.77.0.1:74")
        + &format!(
            "\n[netwatch]\nslice = \"1s\"\ninterval = \"1s\"\ntimeout = \"300ms\"\nopen_after = 2\n\
             close_after = 2\nclasses = []\nhttp_health = false\n\n[[netwatch.webhook]]\nurl = \"{hook}\"\n\
             secret = \"{SECRET}\"\nbackoff = \"100ms\"\ntimeout = \"1s\"\n"
        );
    let config = dir.path().join("topology.toml");
    std::fs::write(&config, text).expect("write topology");
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rendan"))
            .args(["netwatch", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .arg("--config")
            .arg(&config)
            .env("RENDAN_ADMIN_TOKEN", "netwatch-crash-test-admin-token")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rendan netwatch");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        let listening = lines.any(|l| l.is_ok_and(|l| l.contains("listening on")));
        assert!(listening, "rendan netwatch did not start");
        // Keep draining so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        child
    };
    let mut child = start();
    // Every node is unreachable: after two rounds each has an incident and a notice waiting
    // (read through a second connection to the same file, as the monitor writes it).
    let store = rendan_netwatch_sqlite::SqliteNetwatchStore::open(dir.path())
        .await
        .expect("open netwatch.db");
    for _ in 0..300 {
        let waiting = store.notices().await.map(|n| n.len()).unwrap_or(0);
        if waiting >= 16 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let waiting = store.notices().await.expect("notices");
    assert_eq!(waiting.len(), 16, "one notice per node");
    assert!(waiting.iter().all(|n| n.delivered_at.is_none()));
    store.close().await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(
        got.lock().expect("got").is_empty(),
        "nothing was accepted yet"
    );

    accept.store(true, Ordering::SeqCst);
    let mut child = start();
    let mut nodes = std::collections::BTreeSet::new();
    for _ in 0..300 {
        nodes = got
            .lock()
            .expect("got")
            .iter()
            .map(|(sig, body)| {
                assert!(
                    rendan_domain::webhook::verify(
                        SECRET.as_bytes(),
                        sig,
                        body,
                        Timestamp::now(),
                        jiff::SignedDuration::from_mins(5)
                    ),
                    "bad signature {sig}"
                );
                let v: Value = serde_json::from_slice(body).expect("json");
                assert_eq!(v["event"], "incident.opened");
                v["incident"]["node"].as_str().expect("node").to_string()
            })
            .collect();
        if nodes.len() == 16 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().expect("stop");
    child.wait().expect("reap");
    assert_eq!(nodes.len(), 16, "every node's opening arrived: {nodes:?}");
}
