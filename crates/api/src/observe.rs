//! Health and Prometheus metrics: request counts and latencies per route, orders per status.

use crate::AppState;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide metrics recorder (once; later calls reuse it).
pub fn install_metrics() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .as_ref()
}

/// Counts and times every request by method, route template and status.
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [("method", method), ("path", path), ("status", status)];
    metrics::counter!("rendan_http_requests_total", &labels).increment(1);
    metrics::histogram!("rendan_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    res
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn render(State(state): State<AppState>) -> Response {
    if let Ok(counts) = state.cases().store().order_counts().await {
        for (status, n) in counts {
            metrics::gauge!("rendan_orders", "status" => status.as_str()).set(n as f64);
        }
    }
    let body = install_metrics().map(|h| h.render()).unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], body).into_response()
}

/// `/healthz` and `/metrics`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(render))
        .with_state(state)
}
