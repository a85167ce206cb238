//! Request extractors that turn every malformed input into a problem naming its field.

use crate::AppState;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use jiff::Timestamp;
use rendan_domain::idempotency::Key;
use rendan_domain::{Invalid, Invalids};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// A JSON body: content type checked, size capped by the router's body limit, unknown fields
/// rejected by the target type, and every error pointing at the field it is about.
pub struct ValidJson<T>(pub T);

fn is_json(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Completes serde's path with the field named in "unknown field `x`" / "missing field `x`".
fn field_path(path: &str, message: &str) -> String {
    let base = if path == "." { "" } else { path };
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(name) = rest.split('`').next()
        {
            return if base.is_empty() {
                name.to_string()
            } else if base == name || base.ends_with(&format!(".{name}")) {
                // serde_path_to_error already descended into the unknown field.
                base.to_string()
            } else {
                format!("{base}.{name}")
            };
        }
    }
    if base.is_empty() {
        "body".to_string()
    } else {
        base.to_string()
    }
}

impl<T: DeserializeOwned + utoipa::ToSchema> FromRequest<AppState> for ValidJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_json(content_type) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                format!("expected Content-Type: application/json, got {content_type:?}"),
            )
            .field("Content-Type"));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    "Payload too large",
                    "the body exceeds the 1 MiB limit",
                )
                .field("body")
            } else {
                ApiError::bad_request("body", rej.body_text())
            }
        })?;
        // Every body of this API is an object; serde would otherwise read a struct from an
        // array, by position.
        // (Valid JSON that is not an object is a 422; anything else falls through to the
        // parser's 400.)
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{')
            && serde_json::from_slice::<serde_json::Value>(&bytes).is_ok()
        {
            return Err(ApiError::invalid("body", "the body must be a JSON object"));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let msg = inner.to_string();
            let field = field_path(&path, &msg);
            match inner.classify() {
                serde_json::error::Category::Data => {
                    // Well-formed JSON of the wrong shape: name everything wrong with it.
                    let all = serde_json::from_slice::<serde_json::Value>(&bytes)
                        .map(|v| state.shapes().check(&T::name(), &v))
                        .unwrap_or_default();
                    if all.is_empty() {
                        ApiError::invalid(field, msg)
                    } else {
                        Invalids(all).into()
                    }
                }
                _ => ApiError::bad_request(field, format!("malformed JSON: {msg}")),
            }
        })?;
        de.end()
            .map_err(|e| ApiError::bad_request("body", format!("malformed JSON: {e}")))?;
        Ok(ValidJson(value))
    }
}

/// Query parameters as a map; duplicates and parameters outside `allowed` are rejected.
pub struct QueryMap(pub BTreeMap<String, String>);

impl QueryMap {
    /// Checks that only `allowed` names appear.
    pub fn only(self, allowed: &[&str]) -> Result<Self, ApiError> {
        if let Some(k) = self.0.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::bad_request(
                k.clone(),
                format!(
                    "unknown query parameter; expected one of {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(self)
    }

    /// A parameter's value, if present (an empty value is a value, which its parser refuses).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> =
            serde_urlencoded_pairs(raw).map_err(|e| ApiError::bad_request("query", e))?;
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(ApiError::bad_request(
                    k,
                    "query parameter given more than once",
                ));
            }
        }
        Ok(QueryMap(map))
    }
}

fn serde_urlencoded_pairs(raw: &str) -> Result<Vec<(String, String)>, String> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{raw}")
            .parse()
            .map_err(|_| "malformed query string".to_string())?,
    )
    .map(|q| q.0)
    .map_err(|e| e.body_text())
}

/// The `Idempotency-Key` header as a domain key (400 when absent or malformed).
pub fn idempotency_key(headers: &HeaderMap) -> Result<Key, ApiError> {
    let raw = headers.get("idempotency-key").ok_or_else(|| {
        ApiError::bad_request("Idempotency-Key", "the Idempotency-Key header is required")
    })?;
    raw.to_str()
        .ok()
        .and_then(|k| Key::parse(k, "Idempotency-Key").ok())
        .ok_or_else(|| {
            ApiError::bad_request("Idempotency-Key", "must be 1-255 visible ASCII characters")
        })
}

/// Parses a path id; a non-number is a 404 for `what`, as no such resource can exist.
pub fn path_id(raw: &str, what: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::not_found(format!("{what} {raw} not found")))
}

/// The value errors of one request, collected so that all are reported at once.
#[derive(Debug, Default)]
pub struct Problems(Vec<Invalid>);

impl Problems {
    /// The value, or `None` after noting its error.
    pub fn take<T>(&mut self, r: Result<T, Invalid>) -> Option<T> {
        r.map_err(|e| self.0.push(e)).ok()
    }

    /// 422 naming every field noted, or `Ok` when none was.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Invalids(self.0).into())
        }
    }
}

/// Parses `limit` ([`crate::contract::limit`]).
pub fn limit(q: &QueryMap) -> Result<u32, Invalid> {
    crate::contract::limit(q.get("limit"))
}

/// Parses an opaque `cursor` returned by a previous page ([`crate::contract::cursor`]).
pub fn cursor(q: &QueryMap) -> Result<Option<i64>, Invalid> {
    crate::contract::cursor(q.get("cursor"))
}

/// Parses an optional RFC 3339 timestamp parameter.
pub fn timestamp(q: &QueryMap, name: &str) -> Result<Option<Timestamp>, Invalid> {
    q.get(name)
        .map(|v| {
            v.parse::<Timestamp>().map_err(|_| {
                Invalid::new(
                    name,
                    "must be an RFC 3339 timestamp, e.g. 2026-11-01T00:00:00Z",
                )
            })
        })
        .transpose()
}

/// Parses an optional parameter with `parse` (a domain constructor naming the field).
pub fn param<T>(
    q: &QueryMap,
    name: &str,
    parse: impl FnOnce(&str, &str) -> Result<T, Invalid>,
) -> Result<Option<T>, Invalid> {
    q.get(name).map(|v| parse(v, name)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_paths_include_the_named_field() {
        assert_eq!(
            field_path("customer", "missing field `foo`"),
            "customer.foo"
        );
        assert_eq!(
            field_path("customer.zip", "unknown field `zip`, expected one of"),
            "customer.zip"
        );
        assert_eq!(field_path(".", "missing field `lines`"), "lines");
        assert_eq!(field_path("lines[0].qty", "invalid type"), "lines[0].qty");
        assert_eq!(field_path(".", "expected value"), "body");
        assert!(is_json("application/json; charset=utf-8"));
        assert!(!is_json("text/plain"));
    }
}
