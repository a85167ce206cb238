//! The command line: CSV import (idempotent, line-numbered errors), token creation, ledger check.

use std::process::{Command, Output};

fn rendan(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rendan"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rendan")
}

#[test]
fn import_is_idempotent_and_names_bad_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("orders.csv");
    std::fs::write(
        &csv,
        "channel,external_ref,name,phone,address,lat,lon,sku,qty\n\
         web,A-1,Ana,+39 1,Via Roma 1,45.8,8.8,TV-LED-43,1\n\
         web,A-1,Ana,+39 1,Via Roma 1,45.8,8.8,WM-FL-8,2\n\
         store,B-7,Bo,+82 2,Seoul 1,37.5,127.0,AC-SPL-12,1\n\
         web,C-3,Cy,+1 212,NY 1,40.7,-74.0,NO-SUCH-SKU,1\n\
         web,D-4,Di,+1 212,NY 2,forty,-74.0,TV-LED-43,1\n",
    )
    .expect("write csv");
    let data = dir.path().join("data");
    let first = rendan(&["import", "orders", csv.to_str().expect("path")], &data);
    let out = String::from_utf8_lossy(&first.stdout);
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(!first.status.success(), "bad rows must fail the import");
    assert!(
        out.contains("2 orders created, 0 already imported, 2 rejected"),
        "{out}"
    );
    assert!(
        err.contains("line 5") && err.contains("lines[0].sku"),
        "{err}"
    );
    assert!(err.contains("line 6"), "{err}");
    let again = rendan(&["import", "orders", csv.to_str().expect("path")], &data);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("0 orders created, 2 already imported")
    );
    assert!(rendan(&["check-ledger"], &data).status.success());
}

#[test]
fn token_create_prints_the_token_alone() {
    let dir = tempfile::tempdir().expect("dir");
    let out = rendan(
        &["token", "create", "--role", "planner", "--region", "europe"],
        dir.path(),
    );
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout.trim_end();
    assert!(
        token.starts_with("rdn_") && token.len() == 68 && !token.contains(char::is_whitespace),
        "{stdout:?}"
    );
    let bad = rendan(
        &[
            "token", "create", "--role", "planner", "--region", "atlantis",
        ],
        dir.path(),
    );
    assert!(!bad.status.success());
}
