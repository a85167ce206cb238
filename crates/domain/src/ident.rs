//! Identifiers of the topology (nodes, regions, sites): short lowercase slugs, validated once.

use crate::Invalid;

/// Checks a slug: 1-64 characters of a-z, 0-9 and '-'.
pub(crate) fn slug(value: &str, field: &str, what: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(value.to_string())
    } else {
        Err(Invalid::new(
            field,
            format!("{what} must be 1-64 characters of a-z, 0-9 and '-', got {value:?}"),
        ))
    }
}

/// Gives a `struct X(String)` slug type its `parse`, `as_str` and `Display`.
macro_rules! slug_type {
    ($ty:ident, $what:literal) => {
        impl $ty {
            /// Validates an identifier; `field` names it in the error.
            pub fn parse(value: &str, field: &str) -> Result<Self, $crate::Invalid> {
                $crate::ident::slug(value, field, $what).map(Self)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use slug_type;
