//! Keeps ARCHITECTURE.md's dependency rules true: reads `cargo metadata` and fails when a
//! workspace crate depends on a workspace crate it must not know.

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;

/// For each crate, the workspace crates its library may depend on. Dev-dependencies (test
/// fixtures such as the default topology) are not edges of the architecture.
const ALLOWED: &[(&str, &[&str])] = &[
    ("rendan-domain", &[]),
    ("rendan-route", &[]),
    ("rendan-topology", &["rendan-domain"]),
    ("rendan-store", &["rendan-domain"]),
    ("rendan-store-sqlite", &["rendan-domain", "rendan-store"]),
    // Test-only: the power-cut VFS the SQLite durability test runs on.
    ("rendan-sqlite-powercut", &[]),
    ("rendan-store-postgres", &["rendan-domain", "rendan-store"]),
    // The depot-day as a routing problem: the one crate that joins the domain and the engine.
    (
        "rendan-dispatch",
        &["rendan-domain", "rendan-route", "rendan-store"],
    ),
    (
        "rendan-usecases",
        &["rendan-domain", "rendan-store", "rendan-dispatch"],
    ),
    (
        "rendan-api",
        &[
            "rendan-domain",
            "rendan-store",
            "rendan-usecases",
            // For the plan's view types (times of stops) only.
            "rendan-dispatch",
            // The network watch's routes, served with the same toolkit.
            "rendan-netwatch",
        ],
    ),
    ("rendan-netwatch", &["rendan-domain", "rendan-topology"]),
    ("rendan-service-report", &["rendan-domain"]),
    ("rendan-webhooks", &["rendan-domain", "rendan-store"]),
    // Drives the application layer; checks each published plan with the engine's checker.
    (
        "rendan-simulate",
        &[
            "rendan-domain",
            "rendan-store",
            "rendan-usecases",
            "rendan-dispatch",
            "rendan-route",
        ],
    ),
    (
        "rendan-netwatch-sqlite",
        &["rendan-domain", "rendan-topology", "rendan-netwatch"],
    ),
];

/// Edges that must exist: the HTTP crate reaches the store only through the use-cases.
const REQUIRED: &[(&str, &str)] = &[("rendan-api", "rendan-usecases")];

#[test]
fn no_forbidden_dependency_edges() {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let workspace: Vec<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in packages {
        let name = p["name"].as_str().expect("name");
        for d in p["dependencies"].as_array().expect("deps") {
            let dep = d["name"].as_str().expect("dep name");
            if d["kind"].as_str() == Some("dev") {
                continue;
            }
            if workspace.contains(&dep) {
                edges.entry(name).or_default().push(dep);
            }
        }
    }
    for (krate, allowed) in ALLOWED {
        assert!(
            workspace.contains(krate),
            "{krate} is listed here but not in the workspace"
        );
        for dep in edges.get(krate).into_iter().flatten() {
            assert!(
                allowed.contains(dep),
                "{krate} must not depend on {dep} (see ARCHITECTURE.md)"
            );
        }
    }
    for (krate, dep) in REQUIRED {
        assert!(
            edges.get(krate).is_some_and(|d| d.contains(dep)),
            "{krate} must depend on {dep} (see ARCHITECTURE.md)"
        );
    }
    // Every library crate has a rule; only the binary may depend on everything.
    for krate in &workspace {
        assert!(
            *krate == "rendan" || ALLOWED.iter().any(|(k, _)| k == krate),
            "{krate} has no dependency rule in tests/architecture.rs"
        );
    }
}

/// The binary's importer and benchmark reach order intake through the use-cases, never
/// through the HTTP crate's handlers or its translation of wire types (the benchmark's HTTP
/// path is an API client and may post the API's bodies; its direct path builds domain
/// commands).
#[test]
fn the_importer_does_not_go_through_http() {
    let import = include_str!("../src/import.rs");
    assert!(
        !import.contains("rendan_api"),
        "src/import.rs must call rendan_usecases, not rendan_api"
    );
    for (file, text) in [
        ("src/bench.rs", include_str!("../src/bench.rs")),
        ("src/bench_slots.rs", include_str!("../src/bench_slots.rs")),
    ] {
        assert!(
            !text.contains("to_new_order"),
            "{file} must build domain commands itself, not through rendan_api"
        );
    }
}

/// The storage backends persist, lock and read: every decision is a domain function that only
/// the transaction scripts of `rendan-store` call. A backend that named one would be deciding.
#[test]
fn the_backends_call_no_decision_of_the_domain() {
    const DECISIONS: &[&str] = &[
        "allocate",
        "judge(",
        "check_reference",
        "check_new_token",
        "on_order_cancel",
        "order_after_completion",
        "repromise",
        "plan(",
        "book(",
        "finish_day",
        ".apply(",
    ];
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for backend in ["store-sqlite", "store-postgres"] {
        let mut files = vec![root.join(backend).join("src")];
        while let Some(path) = files.pop() {
            let Ok(entries) = std::fs::read_dir(&path) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    // The writers' own fault-injection tests may do as they like.
                    if path.file_name().is_some_and(|n| n == "tests") {
                        continue;
                    }
                    files.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source");
                    for word in DECISIONS {
                        assert!(
                            !text.contains(word),
                            "{} names `{word}`: backends persist, lock and read; the scripts in \
                             rendan-store decide through the domain",
                            path.display()
                        );
                    }
                }
            }
        }
    }
}
