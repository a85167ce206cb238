//! The commands that open the store, pointed at PostgreSQL with `--database`: tokens, import
//! and the ledger check all reach one database (skipped when PostgreSQL is unreachable
//! outside CI, failed under `CI=true`).

#[path = "api/database.rs"]
mod database;

use database::Database;
use std::process::{Command, Output};

/// The backend `database` creates for this binary.
const BACKEND: database::Backend = database::Backend::Postgres;

fn rendan(args: &[&str], db: &Database) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rendan"))
        .args(args)
        .args(db.args())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rendan")
}

#[tokio::test]
async fn tokens_import_and_ledger_check_use_the_database() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let made = rendan(
        &[
            "token",
            "create",
            "--principal",
            "shop",
            "--role",
            "channel",
        ],
        &db,
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let list = String::from_utf8_lossy(&rendan(&["token", "list"], &db).stdout).to_string();
    assert!(list.contains("\tshop\tchannel\t"), "{list}");

    let csv = db.dir.path().join("orders.csv");
    std::fs::write(
        &csv,
        "channel,external_ref,name,phone,address,lat,lon,sku,qty\n\
         web,A-1,Ana,+39 1,Via Roma 1,45.8,8.8,TV-LED-43,1\n\
         store,B-7,Bo,+82 2,Seoul 1,37.5,127.0,AC-SPL-12,1\n",
    )
    .expect("csv");
    let path = csv.to_str().expect("path");
    let first = rendan(&["import", "orders", path], &db);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(String::from_utf8_lossy(&first.stdout).contains("2 orders created"));
    let again = rendan(&["import", "orders", path], &db);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 orders created, 2 already imported"),
        "a second import reaches the same database"
    );
    // Nothing was written to SQLite in the data directory.
    assert!(!db.dir.path().join("rendan.db").exists());
    assert!(rendan(&["check-ledger"], &db).status.success());
}
