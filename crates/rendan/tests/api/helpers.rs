//! `spawn_app()`: the platform on a random port with its own database, plus typed helpers.

use crate::database::Database;
use rendan_api::AppState;
use rendan_domain::access::{PrincipalName, Role};
use rendan_store::{NewTokenRecord, Store};
use rendan_usecases::UseCases;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Makes the helpers' Idempotency-Keys unique within the test binary.
static KEYS: AtomicU64 = AtomicU64::new(0);

/// A running app on 127.0.0.1 with an admin token.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin: String,
    pub store: Arc<dyn Store>,
    /// The use-cases the API runs on (for what no route exposes, such as the minute tick).
    #[allow(dead_code)] // not every test binary's modules use it
    pub cases: UseCases,
    _db: Database,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// Starts the API in-process on a fresh database of the binary's backend with the default
/// topology and no stock; `None` when that backend is unavailable and the test is skipped.
pub async fn spawn_app() -> Option<TestApp> {
    spawn(None, None).await
}

/// As [`spawn_app`], running the network watch `network` (as `serve` does).
#[allow(dead_code)] // the network routes are tested in the SQLite suite only
pub async fn spawn_app_with(network: rendan_netwatch::Netwatch) -> Option<TestApp> {
    spawn(Some(network), None).await
}

/// As [`spawn_app`], with the clock fixed at `now`.
pub async fn spawn_app_at(now: jiff::Timestamp) -> Option<TestApp> {
    spawn(None, Some(Box::new(move || now))).await
}

/// As [`spawn_app`], on a clock the test moves.
pub async fn spawn_app_on(clock: &ManualClock) -> Option<TestApp> {
    spawn(None, Some(clock.boxed())).await
}

/// A clock that stands still until the test advances it.
#[derive(Clone)]
pub struct ManualClock(Arc<std::sync::Mutex<jiff::Timestamp>>);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: jiff::Timestamp) -> Self {
        Self(Arc::new(std::sync::Mutex::new(now)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: jiff::SignedDuration) {
        let mut t = self.0.lock().expect("clock");
        *t = t.checked_add(by).expect("in range");
    }

    /// The clock as the use-cases take it.
    pub fn boxed(&self) -> rendan_usecases::Clock {
        let me = self.clone();
        Box::new(move || *me.0.lock().expect("clock"))
    }
}

/// Serves `state` on a random loopback port until the returned sender is dropped.
async fn serve(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(rendan_api::serve(
        listener,
        rendan_api::app(state),
        async move {
            let _ = stopped.await;
        },
    ));
    (format!("http://{addr}"), stop)
}

/// A second API process on a [`TestApp`]'s store: its own state, token cache and port.
pub struct Peer {
    pub base: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Peer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

async fn spawn(
    network: Option<rendan_netwatch::Netwatch>,
    clock: Option<rendan_usecases::Clock>,
) -> Option<TestApp> {
    let db = Database::fresh().await?;
    let file = rendan_topology::load(None).expect("default topology");
    let store = db.open().await;
    store
        .save_topology(&file.topology)
        .await
        .expect("save topology");
    let admin = rendan_api::auth::generate().expect("token");
    let token = NewTokenRecord {
        hash: rendan_api::auth::hash(&admin),
        principal: PrincipalName::parse("admin", "principal").expect("name"),
        role: Role::Admin,
        label: "test".into(),
        now: jiff::Timestamp::now(),
    };
    store.create_token(token, None).await.expect("admin token");
    let clock: rendan_usecases::Clock = clock.unwrap_or_else(|| Box::new(jiff::Timestamp::now));
    let cases = UseCases::with_clock(store.clone(), file.topology.clone(), file.promise, clock);
    let state = match network {
        Some(nw) => AppState::with_network(cases.clone(), nw),
        None => AppState::new(cases.clone()),
    };
    let (base, stop) = serve(state).await;
    Some(TestApp {
        base,
        client: reqwest::Client::new(),
        admin,
        store,
        cases,
        _db: db,
        _stop: stop,
    })
}

/// An order body for one customer at (lat, lon).
pub fn order(reference: &str, lat: f64, lon: f64, lines: &[(&str, i64)]) -> Value {
    json!({
        "channel": "web",
        "external_ref": reference,
        "customer": {"name": "Test Customer", "phone": "+39 0332 123456", "address": "Via Test 1", "lat": lat, "lon": lon},
        "lines": lines.iter().map(|(sku, qty)| json!({"sku": sku, "qty": qty})).collect::<Vec<_>>(),
    })
}

/// Near Varese (served only by wh-varese) and near Seoul (served by the Asian warehouses).
pub const VARESE: (f64, f64) = (45.80, 8.85);
pub const SEOUL: (f64, f64) = (37.55, 127.0);

impl TestApp {
    /// Another API process on this app's store, with its own token cache and `clock`.
    pub async fn peer(&self, clock: rendan_usecases::Clock) -> Peer {
        let file = rendan_topology::load(None).expect("default topology");
        let state = AppState::new(UseCases::with_clock(
            self.store.clone(),
            file.topology,
            file.promise,
            clock,
        ));
        let (base, _stop) = serve(state).await;
        Peer { base, _stop }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Creates a token through the API.
    pub async fn token(&self, role: &str, region: Option<&str>) -> String {
        let mut body = json!({"role": role});
        if let Some(r) = region {
            body["region"] = json!(r);
        }
        self.token_for(&body).await
    }

    /// Creates a token through the API from a whole `POST /tokens` body (a named principal, a
    /// crew token).
    pub async fn token_for(&self, body: &Value) -> String {
        let res = self.post(&self.admin, "/api/v1/tokens", body).await;
        assert_eq!(res.status(), 201);
        res.json::<Value>().await.expect("json")["token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    pub async fn post_order(&self, token: &str, key: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/orders"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// POSTs with a fresh Idempotency-Key, as a careful client does for each new intent.
    pub async fn post(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        let key = format!("k-{}", KEYS.fetch_add(1, Ordering::Relaxed));
        self.post_with_key(token, &key, path, body).await
    }

    /// POSTs with the given Idempotency-Key (a retry reuses it).
    pub async fn post_with_key(
        &self,
        token: &str,
        key: &str,
        path: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn receipt(&self, site: &str, sku: &str, qty: i64) {
        let res = self
            .post(
                &self.admin,
                "/api/v1/stock/receipts",
                &json!({"site": site, "sku": sku, "qty": qty}),
            )
            .await;
        assert_eq!(
            res.status(),
            201,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }

    /// The JSON body of a GET (whatever its status).
    pub async fn get_json(&self, token: &str, path: &str) -> Value {
        self.get(token, path).await.json().await.expect("json")
    }

    /// The one balance row of a site and SKU (zeros when absent).
    pub async fn balance(&self, site: &str, sku: &str) -> (i64, i64, i64) {
        let rows = self
            .get_json(&self.admin, &format!("/api/v1/stock?site={site}&sku={sku}"))
            .await;
        match rows.as_array().and_then(|r| r.first()) {
            Some(r) => (
                r["on_hand"].as_i64().expect("on_hand"),
                r["reserved"].as_i64().expect("reserved"),
                r["available"].as_i64().expect("available"),
            ),
            None => (0, 0, 0),
        }
    }

    /// Every order visible to `token`, following cursors.
    pub async fn all_orders(&self, token: &str) -> Vec<Value> {
        self.all(token, "/api/v1/orders").await
    }

    /// Every item of a paginated listing.
    pub async fn all(&self, token: &str, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let sep = if path.contains('?') { '&' } else { '?' };
            let url = match &cursor {
                Some(c) => format!("{path}{sep}limit=500&cursor={c}"),
                None => format!("{path}{sep}limit=500"),
            };
            let res = self.get(token, &url).await;
            assert_eq!(res.status(), 200);
            let page: Value = res.json().await.expect("json");
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return items,
            }
        }
    }

    /// Everything the database holds that a request could change, for before/after checks.
    pub async fn snapshot(&self) -> String {
        let s: &dyn Store = self.store.as_ref();
        let orders = s
            .orders(&rendan_store::OrderQuery {
                limit: 10_000,
                ..Default::default()
            })
            .await
            .expect("orders");
        let production = s
            .production_orders(&rendan_store::ProductionQuery {
                limit: 10_000,
                ..Default::default()
            })
            .await
            .expect("production");
        let stock = s.stock(&Default::default()).await.expect("stock");
        let movements = s.movements(0, 1_000_000).await.expect("movements");
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}",
            orders.items, production.items, stock, movements
        )
    }
}
