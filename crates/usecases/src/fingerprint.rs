//! Fingerprints of commands, to tell an idempotent retry from a different request.
//!
//! A fingerprint digests the validated domain command, not the bytes that carried it: a
//! retry that differs only in whitespace, key order or surrounding blanks is the same
//! command, whether it came over HTTP or from a file. Every value is written with its length
//! or at a fixed width, so no two commands share an encoding.

use rendan_domain::order::NewOrder;
use sha2::{Digest, Sha256};

/// An incremental, unambiguous digest.
pub(crate) struct Fingerprint(Sha256);

impl Fingerprint {
    /// Starts a digest for the operation `op` (so equal fields of two operations differ).
    pub(crate) fn new(op: &str) -> Self {
        let mut f = Fingerprint(Sha256::new());
        f.text(op);
        f
    }

    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        self.0.update((s.len() as u64).to_le_bytes());
        self.0.update(s.as_bytes());
        self
    }

    pub(crate) fn int(&mut self, v: i64) -> &mut Self {
        self.0.update(v.to_le_bytes());
        self
    }

    pub(crate) fn float(&mut self, v: f64) -> &mut Self {
        self.0.update(v.to_bits().to_le_bytes());
        self
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.0.finalize().to_vec()
    }
}

/// The fingerprint of an order as placed.
pub(crate) fn order(o: &NewOrder) -> Vec<u8> {
    let mut f = Fingerprint::new("place_order");
    f.text(o.channel.as_str())
        .text(&o.external_ref)
        .text(&o.customer.name)
        .text(&o.customer.phone)
        .text(&o.customer.address)
        .float(o.customer.location.lat())
        .float(o.customer.location.lon())
        .int(o.lines.len() as i64);
    for l in &o.lines {
        f.text(l.sku.as_str()).int(i64::from(l.qty));
    }
    // Orders from before site access existed were fingerprinted without it: a retry of one of
    // them, at the default access, must still be recognised.
    let a = o.site_access;
    if a != rendan_domain::visit::SiteAccess::default() {
        f.text("site_access")
            .int(i64::from(a.floor))
            .int(i64::from(a.lift))
            .int(i64::from(a.haul_away));
    }
    f.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rendan_domain::order::RawCustomer;

    fn new(name: &str, lines: &[(&str, i64)]) -> NewOrder {
        let c = RawCustomer {
            name,
            phone: "+1 2",
            address: "x",
            lat: 1.0,
            lon: 2.0,
        };
        NewOrder::new("web", "r", c, lines).expect("valid")
    }

    #[test]
    fn equal_commands_agree_and_any_difference_shows() {
        assert_eq!(
            order(&new("Ana", &[("A", 1)])),
            order(&new(" Ana ", &[("A", 1)]))
        );
        assert_ne!(
            order(&new("Ana", &[("A", 1)])),
            order(&new("Ana", &[("A", 2)]))
        );
        // Length prefixes: moving a character from one field to the next changes the digest.
        assert_ne!(
            order(&new("Ana", &[("AB", 1)])),
            order(&new("Ana", &[("A", 1), ("B", 1)]))
        );
    }
}
