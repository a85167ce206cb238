//! Demo data: free stock in every warehouse, so that the demo shows both stock and
//! make-to-order fulfilment. Seeded once, into a database whose journal is empty, in one
//! transaction that finds the balances it would fill empty (so two `serve` processes starting
//! together on a new database seed it once).

use anyhow::Result;
use rendan_domain::SiteKind;
use rendan_domain::topology::Topology;
use rendan_store::Store;

/// A repeatable quantity 0..=24 per (site, SKU), so the demo looks the same on every machine
/// and about one pair in five starts empty.
fn demo_qty(site: &str, sku: &str) -> i64 {
    // FNV-1a: tiny, stable across platforms and Rust versions (unlike std's hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in site.bytes().chain([0]).chain(sku.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let q = (h % 30) as i64;
    if q < 6 { 0 } else { q - 5 }
}

/// Receives demo stock unless the journal already has entries.
pub async fn seed(store: &dyn Store, topology: &Topology) -> Result<()> {
    if !store.movements(0, 1).await?.is_empty() {
        return Ok(());
    }
    let mut receipts = Vec::new();
    for site in topology
        .sites()
        .iter()
        .filter(|s| s.kind == SiteKind::Warehouse)
    {
        for p in topology.products() {
            let qty = demo_qty(site.id.as_str(), p.sku.as_str());
            if qty > 0 {
                receipts.push((site.id.clone(), p.sku.clone(), qty));
            }
        }
    }
    let made = store
        .seed_stock(receipts, "demo opening stock", jiff::Timestamp::now())
        .await?;
    tracing::info!(receipts = made, "seeded demo stock");
    Ok(())
}
