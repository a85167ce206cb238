//! Tokens of principals: creation, listing and revocation (admin only).

use crate::AppState;
use crate::auth::Caller;
use crate::contract;
use crate::error::{ApiError, Problem};
use crate::extract::{ValidJson, idempotency_key, path_id};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use rendan_domain::Invalids;
use rendan_domain::access::{PrincipalName, Role};
use rendan_store::TokenInfo;
use serde::{Deserialize, Serialize};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// `POST /tokens` body (its schema is [`contract::token_body`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// The principal the token belongs to, created on first use (a-z, 0-9, '-'; 1-64);
    /// a new principal with a generated name when absent.
    #[serde(default)]
    pub principal: Option<String>,
    /// `admin`, `planner`, `channel` or `crew` (the principal's role when it exists already).
    pub role: String,
    /// For planners only: the region it is limited to.
    #[serde(default)]
    pub region: Option<String>,
    /// For crew tokens only (and always): the crew it speaks for.
    #[serde(default)]
    pub crew: Option<i64>,
}

impl PartialSchema for TokenBody {
    fn schema() -> RefOr<Schema> {
        contract::token_body()
    }
}

impl ToSchema for TokenBody {}

/// A token, without its secret unless just created.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    /// The secret, shown once when created; absent in listings and replays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Token id.
    pub id: i64,
    /// The principal it belongs to (orders and idempotency keys are the principal's).
    pub principal: String,
    /// Role.
    #[schema(schema_with = contract::role)]
    pub role: String,
    /// Region scope, if any.
    pub region: Option<String>,
    /// The crew a crew token speaks for.
    pub crew: Option<i64>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Revocation time, RFC 3339, if revoked.
    pub revoked_at: Option<String>,
}

fn view(info: &TokenInfo, secret: Option<String>) -> TokenView {
    TokenView {
        token: secret,
        id: info.id,
        principal: info.principal.clone(),
        role: info.role.name().to_string(),
        region: info.role.region().map(ToString::to_string),
        crew: info.role.crew(),
        created_at: info.created_at.to_string(),
        revoked_at: info.revoked_at.map(|t| t.to_string()),
    }
}

/// Create a token for a principal.
///
/// A retry with the same `Idempotency-Key` and body answers 200 with the same token, without
/// its secret (only its hash is kept); revoke it if the first answer was lost.
#[utoipa::path(post, path = "/tokens", tag = "access", operation_id = "createToken", request_body = TokenBody,
    params(("Idempotency-Key" = inline(contract::params::IdempotencyKey), Header, description = "Unique per intended token")),
    responses((status = 201, body = TokenView), (status = 200, description = "Retry", body = TokenView),
        (status = 403, description = "Only admin tokens may create tokens", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The principal exists with another role, or the Idempotency-Key was used for another request", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ValidJson(body): ValidJson<TokenBody>,
) -> Result<(StatusCode, Json<TokenView>), ApiError> {
    let key = idempotency_key(&headers)?;
    let mut errors = Vec::new();
    let name = body.principal.as_deref().and_then(|n| {
        PrincipalName::parse(n, "principal")
            .map_err(|e| errors.push(e))
            .ok()
    });
    // A planner's region must be one of the topology's, as the document's enum says.
    if let Some(Err(e)) = body
        .region
        .as_deref()
        .map(|r| state.cases().region(r, "region"))
    {
        errors.push(e);
    }
    let role = Role::parse(&body.role, body.region.as_deref(), body.crew)
        .map_err(|e| {
            if !errors.iter().any(|seen| seen.field == e.field) {
                errors.push(e);
            }
        })
        .ok();
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Err(Invalids(errors).into());
    };
    let outcome = state
        .cases()
        .create_token(Some(&caller), Some(key), name, role, "api")
        .await?;
    let status = if outcome.is_replay() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let t = outcome.into_inner();
    Ok((status, Json(view(&t.info, t.secret))))
}

/// Every token, oldest first, without secrets.
#[utoipa::path(get, path = "/tokens", tag = "access", operation_id = "listTokens",
    responses((status = 200, body = Vec<TokenView>),
        (status = 403, description = "Only admin tokens may list tokens", body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.cases().tokens(Some(&caller)).await?;
    Ok(Json(tokens.iter().map(|t| view(t, None)).collect()))
}

/// Revoke a token: it stops authenticating at once; its principal keeps its orders, keys and
/// other tokens. Revoking it again answers the same.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "access", operation_id = "revokeToken",
    params(("id" = inline(contract::params::Id), Path, description = "Token id")),
    responses((status = 200, body = TokenView),
        (status = 403, description = "Only admin tokens may revoke tokens", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token", body = Problem, content_type = "application/problem+json")))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TokenView>, ApiError> {
    let id = path_id(&id, "token")?;
    let info = state.cases().revoke_token(Some(&caller), id).await?;
    state.forget_tokens();
    Ok(Json(view(&info, None)))
}
