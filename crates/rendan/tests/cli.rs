//! The command line: CSV import (header required, whole-file validation, idempotent,
//! line-numbered errors), tokens of principals, ledger check.

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
        err.contains("line 5: sku: unknown SKU NO-SUCH-SKU"),
        "{err}"
    );
    assert!(err.contains("line 6: lat: not a number"), "{err}");
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

#[test]
fn tokens_belong_to_principals_and_can_be_revoked() {
    let dir = tempfile::tempdir().expect("dir");
    let mint = || {
        let out = rendan(
            &[
                "token",
                "create",
                "--role",
                "channel",
                "--principal",
                "shop",
            ],
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    mint();
    mint();
    let list = rendan(&["token", "list"], dir.path());
    let text = String::from_utf8_lossy(&list.stdout).to_string();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert!(
        rows.iter().all(|r| r.split('\t').nth(1) == Some("shop")),
        "{text}"
    );
    let first = rows[0].split('\t').next().expect("id");
    assert!(
        rendan(&["token", "revoke", first], dir.path())
            .status
            .success()
    );
    let list = rendan(&["token", "list"], dir.path());
    let text = String::from_utf8_lossy(&list.stdout).to_string();
    let revoked: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|r| r.split('\t').nth(6))
        .collect();
    assert!(revoked[0] != "-" && revoked[1] == "-", "{text}");
    // Another role for the same principal is refused.
    let bad = rendan(
        &["token", "create", "--role", "admin", "--principal", "shop"],
        dir.path(),
    );
    assert!(!bad.status.success());
    assert!(
        rendan(&["token", "revoke", "999"], dir.path())
            .status
            .code()
            != Some(0)
    );
}

fn import(csv: &std::path::Path, data: &std::path::Path) -> (bool, String, String) {
    let out = rendan(&["import", "orders", csv.to_str().expect("path")], data);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Regression: a file without its header row used to lose its first row and exit 0.
#[test]
fn import_refuses_a_file_without_its_header_row() {
    let dir = tempfile::tempdir().expect("dir");
    let csv = dir.path().join("orders.csv");
    std::fs::write(
        &csv,
        "web,A-1,Ana,+39 1,Via Roma 1,45.8,8.8,TV-LED-43,1\n\
         web,B-2,Bo,+39 2,Via Roma 2,45.8,8.8,TV-LED-43,1\n",
    )
    .expect("write");
    let (ok, out, err) = import(&csv, &dir.path().join("data"));
    assert!(!ok);
    assert!(err.contains("line 1 must be the header row"), "{err}");
    assert!(!out.contains("created"), "{out}");
}

/// Regression: a bad row in the middle of an order used to place the rest of it, and the
/// fixed file then failed with 409 forever.
#[test]
fn import_places_no_part_of_a_bad_order_and_a_fixed_file_completes_it() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let csv = dir.path().join("orders.csv");
    let header = "channel,external_ref,name,phone,address,lat,lon,sku,qty\n";
    let good_a = "web,A-1,Ana,+39 1,Via Roma 1,45.8,8.8,TV-LED-43,1\n\
                  web,A-1,Ana,+39 1,Via Roma 1,45.8,8.8,WM-FL-8,2\n";
    let good_c = "store,C-3,Cy,+39 3,Via Roma 3,45.8,8.8,TV-LED-43,1\n";
    let b_first = "web,B-2,Bo,+39 2,Via Roma 2,45.8,8.8,TV-LED-43,1\n";
    let broken_b = format!(
        "{b_first}web,B-2,Bo,+39 2,Via Roma 2,45.8,8.8,WM-FL-8,zero\n\
         web,B-2,Bo,+39 2,Via Roma 2,45.8,8.8,NO-SUCH-SKU,1\n"
    );
    let fixed_b = format!(
        "{b_first}web,B-2,Bo,+39 2,Via Roma 2,45.8,8.8,WM-FL-8,1\n\
         web,B-2,Bo,+39 2,Via Roma 2,45.8,8.8,AC-SPL-12,1\n"
    );
    // An order whose only fault is one unreadable row: its readable row alone must not be
    // placed either.
    let d_first = "web,D-4,Di,+39 4,Via Roma 4,45.8,8.8,TV-LED-43,1\n";
    let broken_d = format!("{d_first}web,D-4,Di,+39 4,Via Roma 4,45.8,8.8,WM-FL-8,lots\n");
    let fixed_d = format!("{d_first}web,D-4,Di,+39 4,Via Roma 4,45.8,8.8,WM-FL-8,3\n");
    std::fs::write(
        &csv,
        format!("{header}{good_a}{broken_b}{good_c}{broken_d}"),
    )
    .expect("write");
    let (ok, out, err) = import(&csv, &data);
    assert!(!ok, "bad rows must fail the import");
    assert!(
        out.contains("2 orders created, 0 already imported, 2 rejected"),
        "{out}"
    );
    assert!(err.contains("line 5: qty: not a number"), "{err}");
    assert!(
        err.contains("line 6: sku: unknown SKU NO-SUCH-SKU"),
        "{err}"
    );
    assert!(err.contains("line 9: qty: not a number"), "{err}");

    std::fs::write(&csv, format!("{header}{good_a}{fixed_b}{good_c}{fixed_d}")).expect("write");
    let (ok, out, err) = import(&csv, &data);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("2 orders created, 2 already imported, 0 rejected"),
        "{out}"
    );
    assert!(rendan(&["check-ledger"], &data).status.success());
}

fn route(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rendan"))
        .arg("route")
        .args(args)
        .output()
        .expect("run rendan route")
}

/// `rendan route solve` writes a solution naming each route's vehicle, `route check` verifies
/// it (and refuses a broken one), `route bench` runs a folder, and a limit that is no number
/// of seconds is refused without a panic.
#[test]
fn route_solve_check_and_bench_on_a_json_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let problem = dir.path().join("tiny.json");
    std::fs::write(
        &problem,
        r#"{"name": "tiny", "locations": [[0,0],[10,0],[0,10],[-10,0],[0,-10]],
            "jobs": [{"id": 1, "location": 1, "delivery": [30], "pickup": [10], "service": 5},
                     {"id": 2, "location": 2, "delivery": [30], "service": 5, "skills": ["ac"]},
                     {"id": 3, "location": 3, "delivery": [30], "service": 5},
                     {"id": 4, "location": 4, "delivery": [30], "service": 5}],
            "vehicles": [{"id": 1, "start": 0, "capacity": [70], "count": 2},
                         {"id": 9, "start": 0, "capacity": [100], "skills": ["ac"],
                          "fixed_cost": 5, "unit_cost": 2}]}"#,
    )
    .expect("write");
    let solution = dir.path().join("tiny.sol.json");
    let out = route(&[
        "solve",
        problem.to_str().expect("path"),
        "--iterations",
        "300",
        "--out",
        solution.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sol: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&solution).expect("solution")).expect("json");
    let routes = sol["routes"].as_array().expect("routes");
    assert!(
        routes
            .iter()
            .all(|r| r["vehicle"].as_u64().is_some_and(|v| v < 3))
    );
    let with_skill = routes
        .iter()
        .find(|r| {
            r["jobs"]
                .as_array()
                .expect("jobs")
                .contains(&serde_json::json!(2))
        })
        .expect("job 2 served");
    assert_eq!(
        with_skill["vehicle"], 2,
        "only the third vehicle holds the skill"
    );
    assert!(
        sol["cost"].as_f64().is_some() && sol["feasible"] == true,
        "{sol}"
    );
    let out = route(&[
        "check",
        problem.to_str().expect("path"),
        solution.to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("feasible"));
    // The skilled job moved to a vehicle without the skill: the checker says so.
    let mut broken = sol.clone();
    for r in broken["routes"].as_array_mut().expect("routes") {
        r["vehicle"] = serde_json::json!(0);
    }
    let bad = dir.path().join("bad.sol.json");
    std::fs::write(&bad, broken.to_string()).expect("write");
    let out = route(&[
        "check",
        problem.to_str().expect("path"),
        bad.to_str().expect("path"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("INFEASIBLE"));
    // A folder of one instance: the table, its checker line.
    let folder = dir.path().join("set");
    std::fs::create_dir(&folder).expect("dir");
    std::fs::copy(&problem, folder.join("tiny.json")).expect("copy");
    let out = route(&[
        "bench",
        folder.to_str().expect("path"),
        "--time-limit",
        "10",
        "--iterations",
        "200",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("| tiny | 4 |"), "{table}");
    assert!(
        table.contains("checker: 1 of 1 solutions feasible"),
        "{table}"
    );
    for limit in ["inf", "-1", "NaN"] {
        let arg = format!("--time-limit={limit}");
        let out = route(&["solve", problem.to_str().expect("path"), &arg]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--time-limit") && !err.contains("panicked"),
            "{limit}: {err}"
        );
    }
}
