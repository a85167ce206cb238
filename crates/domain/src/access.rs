//! Who may see and change what. Every HTTP handler asks these functions; none decides alone.
//!
//! | role | orders | stock & production | tokens |
//! |---|---|---|---|
//! | `admin` | all: read, create, cancel | all | create |
//! | `planner` | its region's (all if unscoped): read, cancel | its region's sites | — |
//! | `channel` | create; read those it created | — | — |
//!
//! Network operations (the network watch under `/api/v1/network`): admins read and change,
//! planners read, channels are refused.
//!
//! An order outside a caller's view is reported as absent (404), never as forbidden, so a
//! scoped planner cannot even learn that another region's order exists.

use crate::{Invalid, Region};

/// A token's role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Everything.
    Admin,
    /// Planning; optionally limited to one region.
    Planner {
        /// The region it is limited to; `None` means all regions.
        region: Option<Region>,
    },
    /// A sales channel: creates orders and reads its own.
    Channel,
}

impl Role {
    /// The role's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Planner { .. } => "planner",
            Role::Channel => "channel",
        }
    }

    /// Builds a role from its wire name and optional region; only planners take a region.
    pub fn parse(name: &str, region: Option<&str>) -> Result<Self, Invalid> {
        let region = region.map(|r| Region::parse(r, "region")).transpose()?;
        match (name, region) {
            ("admin", None) => Ok(Role::Admin),
            ("channel", None) => Ok(Role::Channel),
            ("planner", region) => Ok(Role::Planner { region }),
            ("admin" | "channel", Some(_)) => Err(Invalid::new(
                "region",
                "only a planner token can be scoped to a region",
            )),
            (other, _) => Err(Invalid::new(
                "role",
                format!("expected admin, planner or channel, got {other:?}"),
            )),
        }
    }

    /// The region this role is limited to, if any.
    pub fn region(&self) -> Option<&Region> {
        match self {
            Role::Planner { region } => region.as_ref(),
            _ => None,
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's id (orders remember who created them).
    pub token_id: i64,
    /// What it may do.
    pub role: Role,
}

/// What a caller may see of a listing, expressed as filters the store applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    /// Only this region.
    pub region: Option<Region>,
    /// Only orders this token created.
    pub created_by: Option<i64>,
}

impl Visibility {
    /// Whether an order of `region` created by `created_by` is inside this view: the one
    /// rule every backend applies when it reads an order on a caller's behalf.
    pub fn admits(&self, region: &Region, created_by: i64) -> bool {
        self.region.as_ref().is_none_or(|r| r == region)
            && self.created_by.is_none_or(|t| t == created_by)
    }
}

impl Principal {
    /// May create orders.
    pub fn can_create_orders(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Channel)
    }

    /// May see an order of `region` created by token `created_by`.
    pub fn can_see_order(&self, region: &Region, created_by: i64) -> bool {
        self.order_visibility().admits(region, created_by)
    }

    /// May cancel an order it can see.
    pub fn can_change_orders(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Planner { .. })
    }

    /// The filters a listing of orders must apply for this caller.
    pub fn order_visibility(&self) -> Visibility {
        match &self.role {
            Role::Admin => Visibility::default(),
            Role::Planner { region } => Visibility {
                region: region.clone(),
                created_by: None,
            },
            Role::Channel => Visibility {
                region: None,
                created_by: Some(self.token_id),
            },
        }
    }

    /// May read or change stock and production at sites of `region`.
    pub fn can_manage_stock_in(&self, region: &Region) -> bool {
        match &self.role {
            Role::Admin => true,
            Role::Planner { region: scope } => scope.as_ref().is_none_or(|s| s == region),
            Role::Channel => false,
        }
    }

    /// May read stock and production at all (possibly filtered to a region).
    pub fn can_read_stock(&self) -> bool {
        !matches!(self.role, Role::Channel)
    }

    /// May read network operations (state, incidents, SLA reports).
    pub fn can_read_operations(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Planner { .. })
    }

    /// May change network operations (maintenance windows).
    pub fn can_change_operations(&self) -> bool {
        self.role == Role::Admin
    }

    /// May create tokens.
    pub fn can_manage_tokens(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_with_scope_rules() {
        assert_eq!(Role::parse("admin", None), Ok(Role::Admin));
        assert!(Role::parse("admin", Some("europe")).is_err());
        assert_eq!(Role::parse("superuser", None).unwrap_err().field, "role");
        let p = Role::parse("planner", Some("europe")).unwrap();
        assert_eq!(p.region().map(Region::as_str), Some("europe"));
    }

    #[test]
    fn scoped_planner_sees_only_its_region() {
        let europe = Region::parse("europe", "").unwrap();
        let asia = Region::parse("asia", "").unwrap();
        let planner = Principal {
            token_id: 2,
            role: Role::Planner {
                region: Some(europe.clone()),
            },
        };
        assert!(planner.can_see_order(&europe, 9));
        assert!(!planner.can_see_order(&asia, 9));
        assert!(!planner.can_create_orders());
        let channel = Principal {
            token_id: 3,
            role: Role::Channel,
        };
        assert!(channel.can_see_order(&asia, 3));
        assert!(!channel.can_see_order(&asia, 4));
        assert!(!channel.can_change_orders());
    }
}
