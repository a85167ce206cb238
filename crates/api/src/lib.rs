//! rendan's HTTP API: axum handlers over [`rendan_store::Store`] and the domain rules.
//!
//! Wire types (serde, OpenAPI schemas) live here and are converted by hand to and from
//! domain types; handlers only translate: a request becomes a domain command for
//! [`rendan_usecases::UseCases`], and its result becomes a response. [`app`] builds the router without a socket,
//! so tests can call it directly; [`serve`] runs it on a listener until shutdown.

pub mod auth;
pub mod contract;
pub mod error;
pub mod extract;
mod observe;
mod routes;
mod shape;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use rendan_domain::access::Principal;
use rendan_store::StoreError;
use rendan_usecases::UseCases;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use observe::install_metrics;
pub use routes::openapi;
pub use routes::orders::{CustomerBody, LineBody, OrderBody, OrderView, to_new_order};

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 1 << 20;

/// How long a resolved token is trusted without asking the store again: the longest a
/// revocation made through another process on the same store goes unnoticed here.
pub const TOKEN_CACHE_TTL: jiff::SignedDuration = jiff::SignedDuration::from_secs(10);

/// Shared state of every handler: the use-cases and a cache of resolved tokens.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    cases: UseCases,
    /// The network watch, when this process runs it.
    network: Option<rendan_netwatch::Netwatch>,
    /// The request bodies' schemas, compiled on the first malformed body.
    shapes: std::sync::OnceLock<shape::Shapes>,
    /// Resolved tokens and when they were read from the store.
    principals: RwLock<HashMap<Vec<u8>, (Principal, jiff::Timestamp)>>,
}

impl AppState {
    /// State over the use-cases.
    pub fn new(cases: UseCases) -> Self {
        Self {
            inner: Arc::new(Inner {
                cases,
                network: None,
                shapes: std::sync::OnceLock::new(),
                principals: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// State over the use-cases and the network watch this process runs.
    pub fn with_network(cases: UseCases, network: rendan_netwatch::Netwatch) -> Self {
        Self {
            inner: Arc::new(Inner {
                cases,
                network: Some(network),
                shapes: std::sync::OnceLock::new(),
                principals: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The use-cases.
    pub fn cases(&self) -> &UseCases {
        &self.inner.cases
    }

    /// The network watch, when this process runs it.
    pub fn network(&self) -> Option<&rendan_netwatch::Netwatch> {
        self.inner.network.as_ref()
    }

    /// The request bodies' schemas, from the OpenAPI document this state serves.
    pub(crate) fn shapes(&self) -> &shape::Shapes {
        self.inner.shapes.get_or_init(|| {
            let doc = routes::openapi(self.cases().topology());
            let json = serde_json::to_value(&doc).unwrap_or_default();
            shape::Shapes::from_openapi(&json)
        })
    }

    /// Drops every cached token, so that a revocation takes effect at once.
    pub fn forget_tokens(&self) {
        if let Ok(mut cache) = self.inner.principals.write() {
            cache.clear();
        }
    }

    async fn principal(&self, hash: &[u8]) -> Result<Option<Principal>, StoreError> {
        let now = self.inner.cases.now();
        let fresh = |at: jiff::Timestamp| now.duration_since(at) < TOKEN_CACHE_TTL;
        if let Some(p) = self.inner.principals.read().ok().and_then(|m| {
            m.get(hash)
                .filter(|(_, at)| fresh(*at))
                .map(|(p, _)| p.clone())
        }) {
            return Ok(Some(p));
        }
        let found = self.inner.cases.store().principal(hash).await?;
        if let Ok(mut cache) = self.inner.principals.write() {
            match &found {
                Some(p) => {
                    cache.insert(hash.to_vec(), (p.clone(), now));
                }
                // Revoked elsewhere since it was cached: forget it.
                None => {
                    cache.remove(hash);
                }
            }
        }
        Ok(found)
    }
}

/// The whole router: `/healthz`, `/metrics` and the authenticated `/api/v1`, the network watch's
/// routes included (they answer 404 when the state has no network watch).
pub fn app(state: AppState) -> Router {
    let (api, openapi) = routes::api(state.clone());
    let openapi = Arc::new(openapi);
    let api = api.route(
        "/openapi.json",
        axum::routing::get(move || {
            let doc = openapi.clone();
            async move { axum::Json(doc.as_ref().clone()) }
        }),
    );
    gateway(state, api)
}

/// Mounts `api` under `/api/v1` behind bearer-token auth, beside `/healthz` and `/metrics`,
/// with the body limit, problem+json fallbacks and request metrics.
fn gateway(state: AppState, api: Router) -> Router {
    let api = api.layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require,
    ));
    Router::new()
        .nest("/api/v1", api)
        .merge(observe::router(state))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::from_fn(observe::track))
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
