//! Invariant: `rendan-route` depends on no other workspace crate and on nothing outside a short
//! allowlist (no HTTP, SQL or MQTT can creep in through a dependency).

#[test]
fn only_allowed_dependencies() {
    let manifest = include_str!("../Cargo.toml");
    let allowed_normal = ["serde", "serde_json", "thiserror"];
    let allowed_dev = ["proptest", "criterion"];
    let mut section = String::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').to_string();
            continue;
        }
        let Some((name, spec)) = line.split_once('=') else {
            continue;
        };
        let (name, spec) = (name.trim(), spec.trim());
        match section.as_str() {
            "dependencies" => assert!(
                allowed_normal.contains(&name),
                "dependency {name} is not allowed"
            ),
            "dev-dependencies" => assert!(
                allowed_dev.contains(&name),
                "dev-dependency {name} is not allowed"
            ),
            _ => continue,
        }
        assert!(
            !spec.contains("path"),
            "{name}: no workspace (path) dependency allowed"
        );
    }
}
