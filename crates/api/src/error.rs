//! The one error type of the HTTP API, rendered as `application/problem+json` (RFC 9457).
//!
//! Client mistakes name the field at fault in a `field` member; server faults are logged with
//! their cause and answered with a generic 500 that reveals nothing of the internals.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rendan_domain::{Invalid, Invalids};
use rendan_store::StoreError;
use rendan_usecases::Error as UseCaseError;
use serde::Serialize;
use utoipa::ToSchema;

/// One field at fault, in a problem that lists several.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// JSON path, query parameter or header name.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

/// A problem detail as sent to clients.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary of the kind.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened, for this request.
    pub detail: String,
    /// The request field at fault (JSON path, query parameter or header name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For state conflicts: the state the resource is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_status: Option<String>,
    /// For a duplicate reference: the order that already has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_order: Option<i64>,
    /// For a refused visit: why (`not_ready`, `skills`, `weight`, `volume`, `shift`,
    /// `window_full`, `published`, `state`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every field at fault when a request breaks several rules (`field` is the first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// An error a handler returns.
#[derive(Debug, Clone)]
pub struct ApiError(pub Box<Problem>);

impl ApiError {
    /// A problem with `status`, a kind slug, a title and a detail.
    pub fn new(status: StatusCode, slug: &str, title: &str, detail: impl Into<String>) -> Self {
        ApiError(Box::new(Problem {
            kind: format!("urn:rendan:problem:{slug}"),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            current_status: None,
            existing_order: None,
            reason: None,
            errors: Vec::new(),
        }))
    }

    /// Names the field at fault.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    /// 400: the request cannot be read.
    pub fn bad_request(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "Bad request",
            detail,
        )
        .field(field)
    }

    /// 422: readable, but a value breaks a rule.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            "Invalid field",
            detail,
        )
        .field(field)
    }

    /// 401: no valid token.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            detail,
        )
        .field("Authorization")
    }

    /// 403: the token's role or scope does not allow this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
    }

    /// 404.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// A problem naming every field in `errors` (the first also as `field`).
    pub fn from_fields(status: StatusCode, slug: &str, title: &str, errors: Vec<Invalid>) -> Self {
        let detail = errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        let mut err = Self::new(status, slug, title, detail);
        err.0.field = errors.first().map(|e| e.field.clone());
        err.0.errors = errors
            .into_iter()
            .map(|e| FieldProblem {
                field: e.field,
                detail: e.message,
            })
            .collect();
        err
    }

    /// 500, after logging the cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed on the server side");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "the server failed to handle the request; it has been logged",
        )
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

impl From<Invalids> for ApiError {
    fn from(e: Invalids) -> Self {
        ApiError::from_fields(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
            "Invalid field",
            e.0,
        )
    }
}

impl From<UseCaseError> for ApiError {
    fn from(e: UseCaseError) -> Self {
        match e {
            UseCaseError::Invalid(i) => i.into(),
            UseCaseError::Forbidden { message, field } => {
                let err = ApiError::forbidden(message);
                match field {
                    Some(f) => err.field(f),
                    None => err,
                }
            }
            UseCaseError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            StoreError::DuplicateReference(d) => {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "duplicate-external-ref",
                    "Duplicate external reference",
                    d.to_string(),
                )
                .field("external_ref");
                err.0.existing_order = Some(d.existing);
                err
            }
            StoreError::RoleMismatch(_) => ApiError::new(
                StatusCode::CONFLICT,
                "principal-role",
                "Principal has another role",
                e.to_string(),
            )
            .field("role"),
            StoreError::IdempotencyMismatch => ApiError::new(
                StatusCode::CONFLICT,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                e.to_string(),
            )
            .field("Idempotency-Key"),
            StoreError::Transition(t) => {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "illegal-transition",
                    "Illegal transition",
                    t.to_string(),
                );
                err.0.current_status = Some(t.current.as_str().to_string());
                err
            }
            StoreError::ProductionClosed { status, .. } => {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "illegal-transition",
                    "Illegal transition",
                    e.to_string(),
                );
                err.0.current_status = Some(status.as_str().to_string());
                err
            }
            StoreError::Stock(s) => ApiError::new(
                StatusCode::CONFLICT,
                "stock-conflict",
                "Stock conflict",
                s.to_string(),
            ),
            StoreError::Invalid(i) => i.into(),
            StoreError::Refused(r) => {
                let mut err = ApiError::new(
                    StatusCode::CONFLICT,
                    "visit-refused",
                    "Visit cannot be booked",
                    r.message.clone(),
                );
                err.0.reason = Some(r.reason.as_str().to_string());
                err
            }
            StoreError::Exists(what) => {
                ApiError::new(StatusCode::CONFLICT, "exists", "Already exists", what)
            }
            StoreError::Stale(what) => ApiError::new(
                StatusCode::CONFLICT,
                "stale",
                "Changed since it was read",
                what,
            ),
            StoreError::Backend(_) | StoreError::InUse(_) => ApiError::internal(&e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut res = (status, body).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        res
    }
}
