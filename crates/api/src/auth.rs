//! Bearer tokens: generation, hashing and the middleware that resolves a caller.
//!
//! Token generation and hashing live in [`rendan_usecases::tokens`]. Resolved principals are
//! cached in memory; a revocation through this process clears the cache at once, and another
//! process sharing the store stops admitting the token within [`crate::TOKEN_CACHE_TTL`],
//! when its cached entry expires and the store is asked again.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use rendan_domain::access::Principal;

pub use rendan_usecases::tokens::{generate, hash};

/// Resolves `Authorization: Bearer …` into a [`Principal`] request extension, or answers 401.
pub async fn require(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("Authorization must be 'Bearer TOKEN'"))?;
    let principal = state.principal(&hash(token)).await?;
    let principal = principal.ok_or_else(|| ApiError::unauthorized("unknown token"))?;
    req.extensions_mut().insert(principal);
    Ok(next.run(req).await)
}

/// Extracts the caller resolved by [`require`].
pub type Caller = axum::Extension<Principal>;
