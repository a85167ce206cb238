//! Who may see and change what. Every HTTP handler asks these functions; none decides alone.
//!
//! | role | orders | stock & production | tokens |
//! |---|---|---|---|
//! | `admin` | all: read, create, cancel | all | create |
//! | `planner` | its region's (all if unscoped): read, cancel | its region's sites | — |
//! | `channel` | create; read and cancel those it created | — | — |
//! | `crew` | — (posts stop events for the stops of its own published routes, reads its routes) | — | — |
//!
//! Network operations (the network watch under `/api/v1/network`): admins read and change,
//! planners read, channels are refused.
//!
//! Rights and ownership belong to a *principal* (a channel, planner or admin, by name), not to
//! one of its tokens: a principal may hold several tokens at once and rotate them, and its
//! orders and idempotency keys stay its own.
//!
//! An order outside a caller's view is reported as absent (404), never as forbidden, so a
//! scoped planner cannot even learn that another region's order exists.

use crate::ident::slug_type;
use crate::{Invalid, Region};

/// A principal's name, e.g. `shop-eu` (1-64 characters of a-z, 0-9 and '-').
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PrincipalName(String);

slug_type!(PrincipalName, "a principal name");

/// A new token was asked for an existing principal with another role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("principal {name} has role {existing}; a new token for it cannot have role {asked}")]
pub struct RoleMismatch {
    /// The principal.
    pub name: String,
    /// Its role.
    pub existing: String,
    /// The role asked for.
    pub asked: String,
}

/// Whether a token with role `asked` may be issued to principal `name`, which exists with
/// role `existing` (`None`: it is new and takes `asked`). A principal's tokens share its role.
pub fn check_new_token(
    name: &PrincipalName,
    existing: Option<&Role>,
    asked: &Role,
) -> Result<(), RoleMismatch> {
    match existing {
        Some(role) if role != asked => Err(RoleMismatch {
            name: name.to_string(),
            existing: describe(role),
            asked: describe(asked),
        }),
        _ => Ok(()),
    }
}

fn describe(role: &Role) -> String {
    match (role.region(), role.crew()) {
        (Some(r), _) => format!("{} of region {r}", role.name()),
        (_, Some(c)) => format!("{} of crew {c}", role.name()),
        _ => role.name().to_string(),
    }
}

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
    /// A delivery crew's device: reports what happens at the stops of its own routes.
    Crew {
        /// The crew it speaks for.
        crew: i64,
    },
}

impl Role {
    /// The role's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Planner { .. } => "planner",
            Role::Channel => "channel",
            Role::Crew { .. } => "crew",
        }
    }

    /// Builds a role from its wire name, optional region and optional crew; only planners
    /// take a region, and only crews (always) a crew.
    pub fn parse(name: &str, region: Option<&str>, crew: Option<i64>) -> Result<Self, Invalid> {
        let region = region.map(|r| Region::parse(r, "region")).transpose()?;
        let role = match (name, region) {
            ("admin", None) => Role::Admin,
            ("channel", None) => Role::Channel,
            ("planner", region) => Role::Planner { region },
            ("crew", None) => Role::Crew {
                crew: crew.ok_or_else(|| {
                    Invalid::new("crew", "a crew token names the crew it speaks for")
                })?,
            },
            ("admin" | "channel" | "crew", Some(_)) => {
                return Err(Invalid::new(
                    "region",
                    "only a planner token can be scoped to a region",
                ));
            }
            (other, _) => {
                return Err(Invalid::new(
                    "role",
                    format!("expected admin, planner, channel or crew, got {other:?}"),
                ));
            }
        };
        if crew.is_some() && !matches!(role, Role::Crew { .. }) {
            return Err(Invalid::new("crew", "only a crew token names a crew"));
        }
        Ok(role)
    }

    /// The crew this role speaks for, if it is a crew's.
    pub fn crew(&self) -> Option<i64> {
        match self {
            Role::Crew { crew } => Some(*crew),
            _ => None,
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

/// The authenticated caller: a principal, through one of its tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The principal's id (orders and idempotency keys belong to it).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The token it authenticated with.
    pub token_id: i64,
    /// What it may do.
    pub role: Role,
}

/// What a caller may see of a listing, expressed as filters the store applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Visibility {
    /// Only this region.
    pub region: Option<Region>,
    /// Only orders this principal created.
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

    /// May see an order of `region` created by principal `created_by`.
    pub fn can_see_order(&self, region: &Region, created_by: i64) -> bool {
        self.order_visibility().admits(region, created_by)
    }

    /// May cancel an order it can see (a channel sees only its own).
    pub fn can_change_orders(&self) -> bool {
        matches!(
            self.role,
            Role::Admin | Role::Planner { .. } | Role::Channel
        )
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
                created_by: Some(self.id),
            },
            // A crew reads no orders through the order routes; this view admits none (no
            // order is created by a crew principal).
            Role::Crew { .. } => Visibility {
                region: None,
                created_by: Some(self.id),
            },
        }
    }

    /// May report stop events for a visit served by `crew`.
    pub fn can_report_for(&self, crew: i64) -> bool {
        match &self.role {
            Role::Admin => true,
            Role::Crew { crew: own } => *own == crew,
            _ => false,
        }
    }

    /// May read or change stock and production at sites of `region`.
    pub fn can_manage_stock_in(&self, region: &Region) -> bool {
        match &self.role {
            Role::Admin => true,
            Role::Planner { region: scope } => scope.as_ref().is_none_or(|s| s == region),
            Role::Channel | Role::Crew { .. } => false,
        }
    }

    /// May manage crews and plan depot-days in `region`.
    pub fn can_plan_in(&self, region: &Region) -> bool {
        self.can_manage_stock_in(region)
    }

    /// May read stock and production at all (possibly filtered to a region).
    pub fn can_read_stock(&self) -> bool {
        !matches!(self.role, Role::Channel | Role::Crew { .. })
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
        assert_eq!(Role::parse("admin", None, None), Ok(Role::Admin));
        assert!(Role::parse("admin", Some("europe"), None).is_err());
        assert_eq!(
            Role::parse("superuser", None, None).unwrap_err().field,
            "role"
        );
        assert_eq!(Role::parse("crew", None, None).unwrap_err().field, "crew");
        assert_eq!(
            Role::parse("channel", None, Some(3)).unwrap_err().field,
            "crew"
        );
        assert_eq!(
            Role::parse("crew", None, Some(3)),
            Ok(Role::Crew { crew: 3 })
        );
        let p = Role::parse("planner", Some("europe"), None).unwrap();
        assert_eq!(p.region().map(Region::as_str), Some("europe"));
    }

    #[test]
    fn scoped_planner_sees_only_its_region() {
        let europe = Region::parse("europe", "").unwrap();
        let asia = Region::parse("asia", "").unwrap();
        let planner = Principal {
            id: 2,
            name: "eu".into(),
            token_id: 12,
            role: Role::Planner {
                region: Some(europe.clone()),
            },
        };
        assert!(planner.can_see_order(&europe, 9));
        assert!(!planner.can_see_order(&asia, 9));
        assert!(!planner.can_create_orders());
        let channel = Principal {
            id: 3,
            name: "shop".into(),
            token_id: 13,
            role: Role::Channel,
        };
        assert!(channel.can_see_order(&asia, 3));
        assert!(!channel.can_see_order(&asia, 4));
        assert!(channel.can_change_orders());
        assert!(!channel.order_visibility().admits(&asia, 4));
    }

    #[test]
    fn a_principals_tokens_share_its_role() {
        let name = PrincipalName::parse("shop", "principal").unwrap();
        assert!(check_new_token(&name, None, &Role::Channel).is_ok());
        assert!(check_new_token(&name, Some(&Role::Channel), &Role::Channel).is_ok());
        let e = check_new_token(&name, Some(&Role::Channel), &Role::Admin).unwrap_err();
        assert_eq!(
            e.to_string(),
            "principal shop has role channel; a new token for it cannot have role admin"
        );
        assert!(PrincipalName::parse("Shop EU", "principal").is_err());
    }
}
