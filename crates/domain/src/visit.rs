//! What one delivery-and-installation visit needs: skills, load, haul-away and time on site.
//!
//! [`needs`] is the one function that decides it, from the order's lines and the products of
//! the catalogue and from the site's access:
//! - **skills**: every skill a line's product needs to be installed (`Product::skill`);
//! - **load**: the lines' weight and volume, loaded at the depot;
//! - **haul-away**: when the order asks for it, the old appliances (one per unit delivered,
//!   taken to weigh and measure what the new ones do) ride back to the depot;
//! - **service minutes**: Σ units × the product's installation minutes, plus an access
//!   surcharge per unit: [`AccessRules::lift_minutes`] when the floor is above the ground and a
//!   lift serves it, [`AccessRules::stairs_minutes_per_floor`] × floor when it is only reached
//!   by the stairs, and [`AccessRules::haul_away_minutes`] to disconnect and carry out an old
//!   appliance.

use crate::Invalid;
use crate::catalogue::Product;
use crate::crew::Skill;
use std::collections::BTreeSet;

/// How the crew reaches the place of installation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SiteAccess {
    /// Floor of the flat or house (0: ground floor).
    pub floor: u8,
    /// Whether a lift serves that floor.
    pub lift: bool,
    /// Whether the old appliances are to be taken away.
    pub haul_away: bool,
}

/// Highest floor accepted (a data-entry error beyond it).
pub const MAX_FLOOR: i64 = 200;

impl SiteAccess {
    /// Validates the raw fields; `field` prefixes the error path.
    pub fn new(floor: i64, lift: bool, haul_away: bool, field: &str) -> Result<Self, Invalid> {
        if !(0..=MAX_FLOOR).contains(&floor) {
            return Err(Invalid::new(
                format!("{field}.floor"),
                format!("must be between 0 and {MAX_FLOOR}"),
            ));
        }
        Ok(SiteAccess {
            floor: u8::try_from(floor).unwrap_or(u8::MAX),
            lift,
            haul_away,
        })
    }
}

/// The surcharges of [`needs`], per unit delivered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AccessRules {
    /// Minutes to bring a unit up in a lift (any floor above the ground).
    pub lift_minutes: u32,
    /// Minutes per floor to carry a unit up the stairs.
    pub stairs_minutes_per_floor: u32,
    /// Minutes to disconnect and carry out an old appliance.
    pub haul_away_minutes: u32,
}

impl Default for AccessRules {
    fn default() -> Self {
        AccessRules {
            lift_minutes: 5,
            stairs_minutes_per_floor: 4,
            haul_away_minutes: 10,
        }
    }
}

/// What a visit needs.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitNeeds {
    /// Skills the crew must hold.
    pub skills: BTreeSet<Skill>,
    /// Kilograms loaded at the depot.
    pub kg: f64,
    /// Cubic metres loaded at the depot.
    pub m3: f64,
    /// Kilograms carried back to the depot (haul-away).
    pub back_kg: f64,
    /// Cubic metres carried back to the depot.
    pub back_m3: f64,
    /// Minutes on site.
    pub service_minutes: u32,
}

/// The needs of a visit that delivers `lines` (each a product and its units) to a site
/// reached as `access`; see the module docs for the rules.
pub fn needs(lines: &[(&Product, u32)], access: &SiteAccess, rules: &AccessRules) -> VisitNeeds {
    let mut out = VisitNeeds {
        skills: BTreeSet::new(),
        kg: 0.0,
        m3: 0.0,
        back_kg: 0.0,
        back_m3: 0.0,
        service_minutes: 0,
    };
    let per_unit_access = match (access.floor, access.lift) {
        (0, _) => 0,
        (_, true) => rules.lift_minutes,
        (floor, false) => rules.stairs_minutes_per_floor * u32::from(floor),
    } + if access.haul_away {
        rules.haul_away_minutes
    } else {
        0
    };
    for (product, units) in lines {
        let n = f64::from(*units);
        if let Some(skill) = product
            .skill
            .as_deref()
            .and_then(|s| Skill::parse(s, "").ok())
        {
            out.skills.insert(skill);
        }
        out.kg += product.weight_kg * n;
        out.m3 += product.volume_m3 * n;
        if access.haul_away {
            out.back_kg += product.weight_kg * n;
            out.back_m3 += product.volume_m3 * n;
        }
        out.service_minutes = out
            .service_minutes
            .saturating_add(units.saturating_mul(product.install_minutes + per_unit_access));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SiteId;
    use crate::catalogue::{Category, Maker, Sku};

    fn product(sku: &str, kg: f64, m3: f64, minutes: u32, skill: Option<&str>) -> Product {
        Product {
            sku: Sku::parse(sku, "").unwrap(),
            name: sku.into(),
            category: Category::AirConditioner,
            volume_m3: m3,
            weight_kg: kg,
            install_minutes: minutes,
            skill: skill.map(str::to_string),
            makers: vec![Maker {
                factory: SiteId::parse("fx", "").unwrap(),
                lead_days: 1,
            }],
        }
    }

    #[test]
    fn a_fourth_floor_without_a_lift_takes_longer_and_haul_away_rides_back() {
        let ac = product("AC-1", 40.0, 0.3, 90, Some("ac-certified"));
        let tv = product("TV-1", 15.0, 0.2, 20, None);
        let rules = AccessRules::default();
        let ground = needs(&[(&ac, 1), (&tv, 2)], &SiteAccess::default(), &rules);
        assert_eq!(ground.service_minutes, 90 + 2 * 20);
        assert_eq!(ground.kg, 70.0);
        assert!((ground.m3 - 0.7).abs() < 1e-9);
        assert_eq!(ground.back_kg, 0.0);
        assert_eq!(
            ground.skills,
            [Skill::parse("ac-certified", "").unwrap()].into()
        );
        let stairs = SiteAccess::new(4, false, true, "site_access").unwrap();
        let up = needs(&[(&ac, 1), (&tv, 2)], &stairs, &rules);
        // Each of the three units: 4 floors × 4 minutes on the stairs, 10 to haul away.
        assert_eq!(up.service_minutes, 130 + 3 * (16 + 10));
        assert_eq!(up.back_kg, 70.0);
        let lift = SiteAccess::new(4, true, false, "site_access").unwrap();
        assert_eq!(needs(&[(&tv, 1)], &lift, &rules).service_minutes, 25);
        assert!(SiteAccess::new(-1, false, false, "site_access").is_err());
    }
}
