//! Token creation (admin only).

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use rendan_domain::access::Role;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /tokens` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// `admin`, `planner` or `channel`.
    pub role: String,
    /// For planners only: the region it is limited to.
    #[serde(default)]
    pub region: Option<String>,
}

/// A new token, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// The secret; only its hash is stored.
    pub token: String,
    /// Token id (orders record it as their creator).
    pub id: i64,
    /// Role.
    pub role: String,
    /// Region scope, if any.
    pub region: Option<String>,
}

/// Create a token.
#[utoipa::path(post, path = "/tokens", tag = "access", request_body = TokenBody,
    responses((status = 201, body = TokenView), (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ValidJson(body): ValidJson<TokenBody>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let role = Role::parse(&body.role, body.region.as_deref())?;
    let token = state
        .cases()
        .create_token(Some(&caller), role, "api")
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenView {
            token: token.secret,
            id: token.id,
            role: token.role.name().to_string(),
            region: token.role.region().map(ToString::to_string),
        }),
    ))
}
