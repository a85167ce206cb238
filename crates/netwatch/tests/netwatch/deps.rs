//! Dependency direction: the network watch knows no SQL and no platform server; its SQLite
//! crate knows no HTTP. Read from the manifests so a forbidden edge fails the build's tests.

fn deps(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    doc.get("dependencies")
        .and_then(|d| d.as_table())
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn dependencies_point_inward() {
    let here = env!("CARGO_MANIFEST_DIR");
    let core = deps(&format!("{here}/Cargo.toml"));
    for banned in [
        "sqlx",
        "rendan-store",
        "rendan-store-sqlite",
        "rendan-api",
        "rendan-netwatch-sqlite",
        "rendan-route",
    ] {
        assert!(
            !core.iter().any(|d| d == banned),
            "rendan-netwatch must not depend on {banned}"
        );
    }
    let sqlite = deps(&format!("{here}/../netwatch-sqlite/Cargo.toml"));
    for banned in [
        "axum",
        "reqwest",
        "rendan-api",
        "rendan-store",
        "rendan-store-sqlite",
    ] {
        assert!(
            !sqlite.iter().any(|d| d == banned),
            "rendan-netwatch-sqlite must not depend on {banned}"
        );
    }
}
