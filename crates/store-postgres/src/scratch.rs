//! Throw-away databases for tests and benchmarks: each gets a fresh database on the server
//! named by an admin URL, and drops it afterwards.

use crate::error::backend;
use rendan_store::StoreError;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

/// `url` with its database name replaced by `name` (query parameters kept).
pub fn with_database(url: &str, name: &str) -> Result<String, StoreError> {
    let bad = || StoreError::Backend(format!("not a postgres://USER@HOST/DB URL: {url}"));
    let scheme_end = url.find("://").ok_or_else(bad)? + 3;
    let (head, tail) = url.split_at(scheme_end);
    let (authority, rest) = match tail.find(['/', '?']) {
        Some(i) => tail.split_at(i),
        None => (tail, ""),
    };
    let query = rest.find('?').map_or("", |i| &rest[i..]);
    Ok(format!("{head}{authority}/{name}{query}"))
}

/// Creates the database `name` (which must be a plain identifier) on the server of
/// `admin_url` and answers its URL.
pub async fn create(admin_url: &str, name: &str) -> Result<String, StoreError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StoreError::Backend(format!("bad database name {name:?}")));
    }
    let mut conn = PgConnection::connect(admin_url).await.map_err(backend)?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .map_err(backend)?;
    let _ = conn.close().await;
    with_database(admin_url, name)
}

/// Drops the database `name`, disconnecting whoever is still in it.
pub async fn drop(admin_url: &str, name: &str) -> Result<(), StoreError> {
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(StoreError::Backend(format!("bad database name {name:?}")));
    }
    let mut conn = PgConnection::connect(admin_url).await.map_err(backend)?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut conn)
    .await
    .map_err(backend)?;
    let _ = conn.close().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_rest_kept() {
        let u = |s| with_database(s, "x").ok();
        assert_eq!(
            u("postgres://a@h:5432/postgres").as_deref(),
            Some("postgres://a@h:5432/x")
        );
        assert_eq!(u("postgres://a@h").as_deref(), Some("postgres://a@h/x"));
        assert_eq!(
            u("postgres://a@h/db?sslmode=disable").as_deref(),
            Some("postgres://a@h/x?sslmode=disable")
        );
        assert_eq!(u("nonsense"), None);
    }
}
