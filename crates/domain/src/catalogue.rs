//! The product catalogue: what can be sold, how big it is, who installs it and who makes it.

use crate::{Invalid, SiteId};
use std::fmt;

/// A stock-keeping unit, e.g. `REF-500L-INV` (1-64 characters of A-Z, a-z, 0-9, '-', '_', '.').
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sku(String);

impl Sku {
    /// Validates a SKU; `field` names it in the error.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if ok {
            Ok(Self(value.to_string()))
        } else {
            Err(Invalid::new(field, format!("not a valid SKU: {value:?}")))
        }
    }

    /// The SKU as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Product families rendan knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// Refrigerators and freezers.
    Refrigerator,
    /// Washing machines and dryers.
    WashingMachine,
    /// Air conditioners (installation needs a certified installer).
    AirConditioner,
    /// Water heaters.
    WaterHeater,
    /// Televisions.
    Television,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 5] = [
        Category::Refrigerator,
        Category::WashingMachine,
        Category::AirConditioner,
        Category::WaterHeater,
        Category::Television,
    ];

    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::Refrigerator => "refrigerator",
            Category::WashingMachine => "washing-machine",
            Category::AirConditioner => "air-conditioner",
            Category::WaterHeater => "water-heater",
            Category::Television => "television",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        Ok(match value {
            "refrigerator" => Category::Refrigerator,
            "washing-machine" => Category::WashingMachine,
            "air-conditioner" => Category::AirConditioner,
            "water-heater" => Category::WaterHeater,
            "television" => Category::Television,
            other => return Err(Invalid::new(field, format!("unknown category {other:?}"))),
        })
    }
}

/// A factory able to make a product, and how long it takes.
#[derive(Debug, Clone, PartialEq)]
pub struct Maker {
    /// The factory site.
    pub factory: SiteId,
    /// Production lead time in days.
    pub lead_days: u32,
}

/// A product that can be ordered.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Its SKU.
    pub sku: Sku,
    /// Display name.
    pub name: String,
    /// Product family.
    pub category: Category,
    /// Packed volume in cubic metres.
    pub volume_m3: f64,
    /// Packed weight in kilograms.
    pub weight_kg: f64,
    /// Minutes a crew needs to install it.
    pub install_minutes: u32,
    /// Installer skill needed, e.g. `ac-certified`; `None` when any crew can install it.
    pub skill: Option<String>,
    /// Factories that make it (at least one).
    pub makers: Vec<Maker>,
}
