//! The database one test runs on, from the backend its test binary was built for
//! (`crate::BACKEND`): a fresh SQLite data directory, or a fresh PostgreSQL database created
//! on the server of `RENDAN_TEST_PG` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and dropped afterwards. Under `CI=true` an unreachable server fails the test; elsewhere the
//! test is skipped with a message.

use rendan_store::Store;
use rendan_store_postgres::{PgStore, scratch};
use rendan_store_sqlite::SqliteStore;
use std::ffi::OsString;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tempfile::TempDir;

/// Which store a test binary runs its suite against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // each test binary names only its own backend
pub enum Backend {
    /// `rendan-store-sqlite` in a temporary data directory.
    Sqlite,
    /// `rendan-store-postgres` on a database of the test's own.
    Postgres,
}

static DATABASES: AtomicU64 = AtomicU64::new(0);

/// The server the PostgreSQL suites use.
pub fn admin_url() -> String {
    std::env::var("RENDAN_TEST_PG")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh database (and a data directory, which SQLite and the network watch use).
pub struct Database {
    /// The data directory.
    pub dir: TempDir,
    /// The PostgreSQL database's name and URL.
    pg: Option<(String, String)>,
}

impl Database {
    /// A fresh, empty database for `crate::BACKEND`; `None` (after a printed message) when
    /// PostgreSQL cannot be reached outside CI.
    pub async fn fresh() -> Option<Database> {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = match crate::BACKEND {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let name = format!(
                    "rendan_test_{}_{}_{}",
                    std::process::id(),
                    DATABASES.fetch_add(1, Ordering::Relaxed),
                    jiff::Timestamp::now().as_nanosecond() % 1_000_000_000
                );
                match scratch::create(&admin_url(), &name).await {
                    Ok(url) => Some((name, url)),
                    Err(e) => {
                        let why = format!("PostgreSQL at {} is unreachable: {e}", admin_url());
                        if std::env::var("CI").is_ok_and(|v| v == "true") {
                            panic!("{why} (CI=true: PostgreSQL suites fail rather than skip)");
                        }
                        eprintln!("SKIPPED: {why}; set RENDAN_TEST_PG or start PostgreSQL");
                        return None;
                    }
                }
            }
        };
        Some(Database { dir, pg })
    }

    /// Opens the store on this database (PostgreSQL admits several at once).
    #[allow(dead_code)] // the CLI suites drive the binary and never open the store themselves
    pub async fn open(&self) -> Arc<dyn Store> {
        match &self.pg {
            Some((_, url)) => Arc::new(PgStore::connect(url).await.expect("connect")),
            None => Arc::new(
                SqliteStore::open(self.dir.path())
                    .await
                    .expect("open store"),
            ),
        }
    }

    /// The arguments that point a `rendan` command at this database.
    pub fn args(&self) -> Vec<OsString> {
        let mut args = vec!["--data-dir".into(), self.dir.path().as_os_str().to_owned()];
        if let Some((_, url)) = &self.pg {
            args.extend(["--database".into(), url.into()]);
        }
        args
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some((name, _)) = self.pg.take() else {
            return;
        };
        // Best effort, on a thread of its own: the test's runtime may be shutting down.
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(scratch::drop(&admin_url(), &name)).ok()
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("could not drop a test database (left for the next cleanup)");
        }
    }
}
