//! The topology file: rendan's network nodes, sites and catalogue as TOML.
//!
//! The default file (`topology.toml`, the 16-node network of the product brief) is compiled
//! into the binary; [`load`] reads another file instead when one is given. The file's own
//! types stay here: what leaves this crate is the validated [`rendan_domain::topology::Topology`],
//! the [`PromiseRules`] and, untouched, the `[netwatch]` table that the network monitor reads.

use jiff::tz::TimeZone;
use rendan_domain::appointment::{Window, Windows};
use rendan_domain::catalogue::{Category, Maker, Product, Sku};
use rendan_domain::crew::parse_time;
use rendan_domain::fulfilment::PromiseRules;
use rendan_domain::schedule::Capacities;
use rendan_domain::topology::Topology;
use rendan_domain::topology::{DepotSettings, ServiceSettings};
use rendan_domain::{Invalid, LatLon, Node, NodeId, Region, Site, SiteId, SiteKind};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The default topology shipped with rendan.
pub const DEFAULT_TOML: &str = include_str!("../topology.toml");

/// Why a topology file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// Which file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// Not TOML of the expected shape (the message carries line and column).
    #[error("{origin}: {source}")]
    Parse {
        /// The file, or `built-in topology`.
        origin: String,
        /// The parser's error.
        source: toml::de::Error,
    },
    /// Well-formed but inconsistent (unknown node, duplicate id, ...).
    #[error("{origin}: {source}")]
    Invalid {
        /// The file, or `built-in topology`.
        origin: String,
        /// The rule broken, with the entry at fault.
        source: Invalid,
    },
}

/// A loaded topology file.
#[derive(Debug, Clone)]
pub struct TopologyFile {
    /// Nodes, sites and products.
    pub topology: Topology,
    /// How promise dates are computed.
    pub promise: PromiseRules,
    /// The `[netwatch]` table, for the network monitor to interpret.
    pub netwatch: Option<toml::Table>,
    /// Each node's `probe` sub-table, untouched, for the network monitor to interpret.
    pub node_probe: HashMap<NodeId, toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    promise: Option<PromiseDoc>,
    #[serde(default)]
    node: Vec<NodeDoc>,
    #[serde(default)]
    site: Vec<SiteDoc>,
    #[serde(default)]
    product: Vec<ProductDoc>,
    #[serde(default)]
    netwatch: Option<toml::Table>,
    #[serde(default)]
    service: Option<ServiceDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceDoc {
    #[serde(default)]
    on_time_tolerance_minutes: u32,
    #[serde(default)]
    targets: BTreeMap<String, TargetsDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetsDoc {
    #[serde(default = "default_on_time")]
    on_time: f64,
    #[serde(default = "default_first_visit")]
    first_visit_install: f64,
    #[serde(default = "default_promise_kept")]
    promise_kept: f64,
}

fn default_on_time() -> f64 {
    rendan_domain::service::Targets::default().on_time
}

fn default_first_visit() -> f64 {
    rendan_domain::service::Targets::default().first_visit
}

fn default_promise_kept() -> f64 {
    rendan_domain::service::Targets::default().promise_kept
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PromiseDoc {
    transfer_km_per_day: f64,
    delivery_lead_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeDoc {
    id: String,
    name: String,
    region: String,
    lat: f64,
    lon: f64,
    availability_target: f64,
    /// IANA time zone; UTC when absent.
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    agent: Option<String>,
    #[serde(default)]
    main: bool,
    /// Per-node probe settings, passed through to the network monitor.
    #[serde(default)]
    probe: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteDoc {
    id: String,
    kind: String,
    node: String,
    lat: f64,
    lon: f64,
    #[serde(default)]
    radius_km: f64,
    /// Units a factory makes a day, per category wire name.
    #[serde(default)]
    capacity: BTreeMap<String, u32>,
    /// A depot's windows, `HH:MM-HH:MM` each.
    #[serde(default)]
    windows: Option<Vec<String>>,
    /// A depot's trucks' average speed, km/h.
    #[serde(default)]
    speed_kmh: Option<f64>,
    /// A depot's road distance over great-circle distance.
    #[serde(default)]
    road_factor: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MakerDoc {
    factory: String,
    lead_days: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductDoc {
    sku: String,
    name: String,
    category: String,
    volume_m3: f64,
    weight_kg: f64,
    install_minutes: u32,
    #[serde(default)]
    skill: Option<String>,
    makers: Vec<MakerDoc>,
}

/// Loads `path`, or the built-in topology when `path` is `None`.
pub fn load(path: Option<&Path>) -> Result<TopologyFile, TopologyError> {
    match path {
        None => parse(DEFAULT_TOML, "built-in topology"),
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| TopologyError::Read {
                path: p.to_path_buf(),
                source,
            })?;
            parse(&text, &p.display().to_string())
        }
    }
}

/// Parses and validates topology TOML; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<TopologyFile, TopologyError> {
    let doc: FileDoc = toml::from_str(text).map_err(|source| TopologyError::Parse {
        origin: origin.to_string(),
        source,
    })?;
    build(doc).map_err(|source| TopologyError::Invalid {
        origin: origin.to_string(),
        source,
    })
}

fn build(doc: FileDoc) -> Result<TopologyFile, Invalid> {
    let nodes = doc
        .node
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let f = |name: &str| format!("node[{i}].{name}");
            Ok(Node {
                id: NodeId::parse(&n.id, &f("id"))?,
                name: n.name.clone(),
                region: Region::parse(&n.region, &f("region"))?,
                location: LatLon::new(n.lat, n.lon, &format!("node[{i}]"))?,
                availability_target: n.availability_target,
                zone: match &n.zone {
                    None => TimeZone::UTC,
                    Some(z) => TimeZone::get(z).map_err(|e| {
                        Invalid::new(f("zone"), format!("not an IANA time zone: {e}"))
                    })?,
                },
                agent: n.agent.clone(),
                main: n.main,
            })
        })
        .collect::<Result<Vec<_>, Invalid>>()?;
    let node_probe = doc
        .node
        .iter()
        .zip(&nodes)
        .filter_map(|(d, n)| d.probe.clone().map(|p| (n.id.clone(), p)))
        .collect();
    let sites = doc
        .site
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let f = |name: &str| format!("site[{i}].{name}");
            let node = NodeId::parse(&s.node, &f("node"))?;
            let region = nodes
                .iter()
                .find(|n| n.id == node)
                .map(|n| n.region.clone())
                .ok_or_else(|| Invalid::new(f("node"), format!("unknown node {node}")))?;
            Ok(Site {
                id: SiteId::parse(&s.id, &f("id"))?,
                kind: SiteKind::parse(&s.kind, &f("kind"))?,
                node,
                region,
                location: LatLon::new(s.lat, s.lon, &format!("site[{i}]"))?,
                serves_radius_km: s.radius_km,
            })
        })
        .collect::<Result<Vec<_>, Invalid>>()?;
    let mut capacities = Capacities::new();
    for (i, (doc_site, site)) in doc.site.iter().zip(&sites).enumerate() {
        if !doc_site.capacity.is_empty() && site.kind != SiteKind::Factory {
            return Err(Invalid::new(
                format!("site[{i}].capacity"),
                "only a factory has a production capacity",
            ));
        }
        for (name, &units) in &doc_site.capacity {
            let field = format!("site[{i}].capacity.{name}");
            let category = Category::parse(name, &field)?;
            if units == 0 {
                return Err(Invalid::new(field, "must be at least 1 unit a day"));
            }
            capacities.set(site.id.clone(), category, units);
        }
    }
    let mut depots = HashMap::new();
    for (i, (doc_site, site)) in doc.site.iter().zip(&sites).enumerate() {
        let given = doc_site.windows.is_some()
            || doc_site.speed_kmh.is_some()
            || doc_site.road_factor.is_some();
        if !given {
            continue;
        }
        if site.kind != SiteKind::Depot {
            return Err(Invalid::new(
                format!("site[{i}]"),
                "windows, speed_kmh and road_factor belong to a depot",
            ));
        }
        let mut settings = DepotSettings::default();
        if let Some(list) = &doc_site.windows {
            let mut windows = Vec::new();
            for (j, w) in list.iter().enumerate() {
                let field = format!("site[{i}].windows[{j}]");
                let (a, b) = w
                    .split_once('-')
                    .ok_or_else(|| Invalid::new(&field, "expected HH:MM-HH:MM"))?;
                windows.push(Window {
                    start: parse_time(a.trim(), &field)?,
                    end: parse_time(b.trim(), &field)?,
                });
            }
            settings.windows = Windows::new(windows, &format!("site[{i}].windows"))?;
        }
        if let Some(v) = doc_site.speed_kmh {
            if !v.is_finite() || !(1.0..=200.0).contains(&v) {
                return Err(Invalid::new(
                    format!("site[{i}].speed_kmh"),
                    "must be between 1 and 200",
                ));
            }
            settings.road.speed_kmh = v;
        }
        if let Some(v) = doc_site.road_factor {
            if !v.is_finite() || !(1.0..=5.0).contains(&v) {
                return Err(Invalid::new(
                    format!("site[{i}].road_factor"),
                    "must be between 1 and 5",
                ));
            }
            settings.road.road_factor = v;
        }
        depots.insert(site.id.clone(), settings);
    }
    let products = doc
        .product
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let f = |name: &str| format!("product[{i}].{name}");
            Ok(Product {
                sku: Sku::parse(&p.sku, &f("sku"))?,
                name: p.name.clone(),
                category: Category::parse(&p.category, &f("category"))?,
                volume_m3: p.volume_m3,
                weight_kg: p.weight_kg,
                install_minutes: p.install_minutes,
                skill: p.skill.clone(),
                makers: p
                    .makers
                    .iter()
                    .enumerate()
                    .map(|(j, m)| {
                        Ok(Maker {
                            factory: SiteId::parse(
                                &m.factory,
                                &f(&format!("makers[{j}].factory")),
                            )?,
                            lead_days: m.lead_days,
                        })
                    })
                    .collect::<Result<Vec<_>, Invalid>>()?,
            })
        })
        .collect::<Result<Vec<_>, Invalid>>()?;
    let promise = match doc.promise {
        Some(p) => {
            if !p.transfer_km_per_day.is_finite() || p.transfer_km_per_day <= 0.0 {
                return Err(Invalid::new(
                    "promise.transfer_km_per_day",
                    "must be positive",
                ));
            }
            PromiseRules {
                transfer_km_per_day: p.transfer_km_per_day,
                delivery_lead_days: p.delivery_lead_days,
            }
        }
        None => PromiseRules::default(),
    };
    let service = match doc.service {
        None => ServiceSettings::default(),
        Some(s) => ServiceSettings {
            on_time_tolerance: jiff::SignedDuration::from_mins(i64::from(
                s.on_time_tolerance_minutes,
            )),
            targets: s
                .targets
                .iter()
                .map(|(region, t)| {
                    Ok((
                        Region::parse(region, &format!("service.targets.{region}"))?,
                        rendan_domain::service::Targets {
                            on_time: t.on_time,
                            first_visit: t.first_visit_install,
                            promise_kept: t.promise_kept,
                        },
                    ))
                })
                .collect::<Result<_, Invalid>>()?,
        },
    };
    Ok(TopologyFile {
        topology: Topology::new(nodes, sites, products)?
            .with_capacities(capacities)?
            .with_depot_settings(depots)?
            .with_service(service)?,
        promise,
        netwatch: doc.netwatch,
        node_probe,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_depot_may_set_its_windows_and_speed() {
        let text = DEFAULT_TOML.replace(
            "id = \"dp-varese\"\nkind = \"depot\"",
            "id = \"dp-varese\"\nkind = \"depot\"\nwindows = [\"09:00-12:00\", \"14:00-17:00\"]\nspeed_kmh = 25.0",
        );
        let file = parse(&text, "test").unwrap();
        let id = SiteId::parse("dp-varese", "").unwrap();
        let s = file.topology.depot_settings(&id);
        assert_eq!(s.windows.all().len(), 2);
        assert_eq!(s.road.speed_kmh, 25.0);
        let other = SiteId::parse("dp-seoul", "").unwrap();
        assert_eq!(
            file.topology.depot_settings(&other),
            DepotSettings::default()
        );
        let bad = DEFAULT_TOML.replace(
            "id = \"dp-varese\"\nkind = \"depot\"",
            "id = \"dp-varese\"\nkind = \"depot\"\nwindows = [\"12:00-09:00\"]",
        );
        let err = parse(&bad, "test").unwrap_err().to_string();
        assert!(err.contains("site[") && err.contains("windows"), "{err}");
    }

    #[test]
    fn default_topology_is_the_sixteen_node_network() {
        let file = load(None).unwrap();
        let t = &file.topology;
        assert_eq!(t.nodes().len(), 16);
        assert_eq!(t.nodes().iter().filter(|n| n.main).count(), 1);
        let kind = |k| t.sites().iter().filter(|s| s.kind == k).count();
        assert!(kind(SiteKind::Factory) >= 3);
        assert_eq!(kind(SiteKind::Warehouse), 16);
        assert_eq!(kind(SiteKind::Depot), 16);
        assert!(t.products().len() >= 30);
        for n in t.nodes() {
            let want = if n.region.as_str() == "asia" {
                99.7
            } else {
                99.8
            };
            assert_eq!(n.availability_target, want, "{}", n.id);
        }
    }

    #[test]
    fn errors_name_the_entry() {
        let bad = "[[node]]\nid = \"x\"\nname = \"X\"\nregion = \"asia\"\nlat = 95.0\nlon = 0.0\navailability_target = 99.7\n";
        let err = parse(bad, "t.toml").unwrap_err().to_string();
        assert!(err.contains("node[0].lat"), "{err}");
        let err = parse("[[node]]\nid = 1\n", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn every_factory_declares_a_capacity_for_what_it_makes() {
        let file = load(None).unwrap();
        for p in file.topology.products() {
            for m in &p.makers {
                assert!(
                    file.topology
                        .capacities()
                        .per_day(&m.factory, p.category)
                        .is_some(),
                    "{} at {}",
                    p.sku,
                    m.factory
                );
            }
        }
    }

    #[test]
    fn a_capacity_outside_a_factory_or_for_an_unknown_category_is_refused() {
        let node = "[[node]]\nid = \"x\"\nname = \"X\"\nregion = \"asia\"\nlat = 1.0\nlon = 1.0\navailability_target = 99.7\n";
        let site = |kind: &str, cap: &str| {
            format!(
                "{node}[[site]]\nid = \"s\"\nkind = \"{kind}\"\nnode = \"x\"\nlat = 1.0\nlon = 1.0\ncapacity = {{ {cap} }}\n"
            )
        };
        let err = parse(&site("warehouse", "refrigerator = 5"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("site[0].capacity"), "{err}");
        let err = parse(&site("factory", "sofa = 5"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("site[0].capacity.sofa"), "{err}");
        let err = parse(&site("factory", "refrigerator = 0"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("at least 1"), "{err}");
        let ok = parse(&site("factory", "refrigerator = 5"), "t.toml").unwrap();
        let f = SiteId::parse("s", "id").unwrap();
        assert_eq!(
            ok.topology.capacities().per_day(&f, Category::Refrigerator),
            Some(5)
        );
    }
}
