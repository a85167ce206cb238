//! The whole reference picture: nodes, sites and the catalogue, validated together.

use crate::appointment::Windows;
use crate::catalogue::{Product, Sku};
use crate::schedule::Capacities;
use crate::travel::RoadModel;
use crate::{Invalid, Node, NodeId, Region, Site, SiteId, SiteKind};
use std::collections::{BTreeSet, HashMap};

/// Nodes, sites, products and the factories' capacities, checked for consistency (every
/// reference resolves).
#[derive(Debug, Clone)]
pub struct Topology {
    nodes: Vec<Node>,
    sites: Vec<Site>,
    products: Vec<Product>,
    site_index: HashMap<SiteId, usize>,
    product_index: HashMap<Sku, usize>,
    capacities: Capacities,
    depots: HashMap<SiteId, DepotSettings>,
    service: ServiceSettings,
}

/// How service standards are measured and what each region promises.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceSettings {
    /// How far outside the booked window an arrival still counts as on time.
    pub on_time_tolerance: jiff::SignedDuration,
    /// Targets per region (the defaults where a region has none).
    pub targets: HashMap<Region, crate::service::Targets>,
}

/// How a depot works: the windows it offers and how its trucks move.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DepotSettings {
    /// The windows offered each day, in the depot's local time.
    pub windows: Windows,
    /// Road factor and average speed.
    pub road: RoadModel,
}

/// The id of a depot's returns site: the depot's id with `-returns` appended.
pub fn returns_site_of(depot: &SiteId) -> Result<SiteId, Invalid> {
    SiteId::parse(&format!("{depot}-returns"), "site")
}

impl Topology {
    /// Checks references and uniqueness; the error names the offending entry.
    pub fn new(
        nodes: Vec<Node>,
        mut sites: Vec<Site>,
        products: Vec<Product>,
    ) -> Result<Self, Invalid> {
        // Each depot gets its returns stock as a site of its own, so that goods coming back
        // are journalled like any other movement and never mix with sellable stock.
        let mut returns = Vec::new();
        for (i, s) in sites.iter().enumerate() {
            if s.kind == SiteKind::Returns {
                return Err(Invalid::new(
                    format!("site[{i}].kind"),
                    "returns sites are derived from depots, not declared",
                ));
            }
            if s.kind == SiteKind::Depot {
                returns.push(Site {
                    id: returns_site_of(&s.id)
                        .map_err(|e| Invalid::new(format!("site[{i}].id"), e.message))?,
                    kind: SiteKind::Returns,
                    serves_radius_km: 0.0,
                    ..s.clone()
                });
            }
        }
        sites.extend(returns);
        let mut node_ids = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            if node_ids.insert(n.id.clone(), i).is_some() {
                return Err(Invalid::new(
                    format!("node[{i}].id"),
                    format!("duplicate node {}", n.id),
                ));
            }
            if !(0.0..=100.0).contains(&n.availability_target) {
                return Err(Invalid::new(
                    format!("node[{i}].availability_target"),
                    "must be a percentage between 0 and 100",
                ));
            }
        }
        if nodes.iter().filter(|n| n.main).count() > 1 {
            return Err(Invalid::new(
                "node",
                "at most one node may be the main node",
            ));
        }
        let mut site_index = HashMap::new();
        for (i, s) in sites.iter().enumerate() {
            if site_index.insert(s.id.clone(), i).is_some() {
                return Err(Invalid::new(
                    format!("site[{i}].id"),
                    format!("duplicate site {}", s.id),
                ));
            }
            match node_ids.get(&s.node) {
                None => {
                    return Err(Invalid::new(
                        format!("site[{i}].node"),
                        format!("unknown node {}", s.node),
                    ));
                }
                Some(&n) if nodes[n].region != s.region => {
                    return Err(Invalid::new(
                        format!("site[{i}].region"),
                        "a site's region must be its node's region",
                    ));
                }
                Some(_) => {}
            }
            if !s.serves_radius_km.is_finite() || s.serves_radius_km < 0.0 {
                return Err(Invalid::new(format!("site[{i}].radius_km"), "must be >= 0"));
            }
        }
        let mut product_index = HashMap::new();
        for (i, p) in products.iter().enumerate() {
            if product_index.insert(p.sku.clone(), i).is_some() {
                return Err(Invalid::new(
                    format!("product[{i}].sku"),
                    format!("duplicate SKU {}", p.sku),
                ));
            }
            if p.makers.is_empty() {
                return Err(Invalid::new(
                    format!("product[{i}].makers"),
                    "needs at least one factory",
                ));
            }
            let positive = |v: f64| v.is_finite() && v > 0.0;
            if !positive(p.volume_m3) || !positive(p.weight_kg) {
                return Err(Invalid::new(
                    format!("product[{i}]"),
                    "volume and weight must be positive",
                ));
            }
            for (j, m) in p.makers.iter().enumerate() {
                let ok = site_index
                    .get(&m.factory)
                    .is_some_and(|&k| sites[k].kind == SiteKind::Factory);
                if !ok {
                    return Err(Invalid::new(
                        format!("product[{i}].makers[{j}].factory"),
                        format!("{} is not a factory", m.factory),
                    ));
                }
            }
        }
        Ok(Self {
            nodes,
            sites,
            products,
            site_index,
            product_index,
            capacities: Capacities::new(),
            depots: HashMap::new(),
            service: ServiceSettings::default(),
        })
    }

    /// The same topology with settings for some depots (the others keep the defaults); a
    /// setting for a site that is not a depot is refused.
    pub fn with_depot_settings(
        mut self,
        settings: HashMap<SiteId, DepotSettings>,
    ) -> Result<Self, Invalid> {
        for id in settings.keys() {
            if !self.site(id).is_some_and(|s| s.kind == SiteKind::Depot) {
                return Err(Invalid::new(
                    format!("site {id}"),
                    "windows and road settings belong to a depot",
                ));
            }
        }
        self.depots = settings;
        Ok(self)
    }

    /// The same topology with its service standards' settings; a target for a region no node
    /// has, or outside 0–100%, is refused.
    pub fn with_service(mut self, service: ServiceSettings) -> Result<Self, Invalid> {
        for (region, t) in &service.targets {
            if !self.nodes.iter().any(|n| &n.region == region) {
                return Err(Invalid::new(
                    format!("service.targets.{region}"),
                    "no node is in this region",
                ));
            }
            for (name, v) in [
                ("on_time", t.on_time),
                ("first_visit_install", t.first_visit),
                ("promise_kept", t.promise_kept),
            ] {
                if !(0.0..=100.0).contains(&v) {
                    return Err(Invalid::new(
                        format!("service.targets.{region}.{name}"),
                        "must be a percentage between 0 and 100",
                    ));
                }
            }
        }
        if service.on_time_tolerance.is_negative() {
            return Err(Invalid::new(
                "service.on_time_tolerance_minutes",
                "must be >= 0",
            ));
        }
        self.service = service;
        Ok(self)
    }

    /// The service standards' settings.
    pub fn service(&self) -> &ServiceSettings {
        &self.service
    }

    /// A region's service targets (the defaults when the file names none).
    pub fn service_targets(&self, region: &Region) -> crate::service::Targets {
        self.service
            .targets
            .get(region)
            .copied()
            .unwrap_or_default()
    }

    /// How a depot works (the defaults when the file says nothing).
    pub fn depot_settings(&self, depot: &SiteId) -> DepotSettings {
        self.depots.get(depot).cloned().unwrap_or_default()
    }

    /// The same topology with each factory's daily capacity per category; a capacity of a
    /// site that is not a factory of this topology is refused.
    pub fn with_capacities(mut self, capacities: Capacities) -> Result<Self, Invalid> {
        for (factory, category, _) in capacities.iter() {
            let is_factory = self
                .site(factory)
                .is_some_and(|s| s.kind == SiteKind::Factory);
            if !is_factory {
                return Err(Invalid::new(
                    format!("capacity.{factory}.{}", category.as_str()),
                    format!("{factory} is not a factory"),
                ));
            }
        }
        self.capacities = capacities;
        Ok(self)
    }

    /// Each factory's daily capacity per product category (none declared: lead times alone).
    pub fn capacities(&self) -> &Capacities {
        &self.capacities
    }

    /// Every node, in file order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Every site, in file order.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Every product, in file order.
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// The returns site of a depot of this topology.
    pub fn returns_of(&self, depot: &SiteId) -> Option<&Site> {
        let id = returns_site_of(depot).ok()?;
        self.site(&id).filter(|s| s.kind == SiteKind::Returns)
    }

    /// A site by id.
    pub fn site(&self, id: &SiteId) -> Option<&Site> {
        self.site_index.get(id).map(|&i| &self.sites[i])
    }

    /// A product by SKU.
    pub fn product(&self, sku: &Sku) -> Option<&Product> {
        self.product_index.get(sku).map(|&i| &self.products[i])
    }

    /// A node by id.
    pub fn node(&self, id: &NodeId) -> Option<&Node> {
        self.nodes.iter().find(|n| &n.id == id)
    }

    /// The regions that appear in the topology, sorted.
    pub fn regions(&self) -> BTreeSet<Region> {
        self.nodes.iter().map(|n| n.region.clone()).collect()
    }
}
