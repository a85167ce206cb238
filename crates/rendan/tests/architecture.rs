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
    ("rendan-usecases", &["rendan-domain", "rendan-store"]),
    (
        "rendan-api",
        &["rendan-domain", "rendan-store", "rendan-usecases"],
    ),
    ("rendan-netwatch", &["rendan-domain", "rendan-topology"]),
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
/// through the HTTP crate's handlers.
#[test]
fn the_importer_does_not_go_through_http() {
    let import = include_str!("../src/import.rs");
    assert!(
        !import.contains("rendan_api"),
        "src/import.rs must call rendan_usecases, not rendan_api"
    );
}
