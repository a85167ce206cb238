//! Recomputes stock balances from the movement journal and compares them with the stored ones.
//!
//! This is the ledger's audit: it uses the same [`Balance::apply`] the writers use, so a
//! journal that could not have produced the stored balances (a lost movement, a balance
//! written without one, an impossible sequence) shows up as a mismatch or a replay error.

use crate::{Store, StoreError};
use rendan_domain::SiteId;
use rendan_domain::catalogue::Sku;
use rendan_domain::stock::{Balance, StockError};
use std::collections::BTreeMap;

/// A disagreement between journal and balances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discrepancy {
    /// Replaying the journal gives another balance than the stored one.
    Mismatch {
        /// Site.
        site: SiteId,
        /// SKU.
        sku: Sku,
        /// Stored balance.
        stored: Balance,
        /// Balance from the journal.
        replayed: Balance,
    },
    /// A journal entry is impossible at its point in the sequence.
    Replay {
        /// The movement id.
        movement: i64,
        /// Why.
        error: StockError,
    },
}

/// The audit's outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LedgerReport {
    /// Journal entries replayed.
    pub movements: u64,
    /// Balances compared.
    pub balances: u64,
    /// Everything that disagreed (empty when the ledger is sound).
    pub discrepancies: Vec<Discrepancy>,
}

/// Replays the whole journal, page by page, and compares with every stored balance.
pub async fn check(store: &dyn Store) -> Result<LedgerReport, StoreError> {
    const PAGE: u32 = 5_000;
    let mut replayed: BTreeMap<(SiteId, Sku), Balance> = BTreeMap::new();
    let mut report = LedgerReport::default();
    let mut after = 0;
    loop {
        let page = store.movements(after, PAGE).await?;
        for m in &page {
            let entry = replayed.entry((m.site.clone(), m.sku.clone())).or_default();
            match entry.apply(m.kind, m.qty) {
                Ok(next) => *entry = next,
                Err(error) => report.discrepancies.push(Discrepancy::Replay {
                    movement: m.id,
                    error,
                }),
            }
            report.movements += 1;
            after = m.id;
        }
        if page.len() < PAGE as usize {
            break;
        }
    }
    let stored = store.stock(&Default::default()).await?;
    for row in stored {
        report.balances += 1;
        let key = (row.site.clone(), row.sku.clone());
        let from_journal = replayed.remove(&key).unwrap_or_default();
        if from_journal != row.balance {
            report.discrepancies.push(Discrepancy::Mismatch {
                site: row.site,
                sku: row.sku,
                stored: row.balance,
                replayed: from_journal,
            });
        }
    }
    for ((site, sku), balance) in replayed {
        if balance != Balance::default() {
            report.discrepancies.push(Discrepancy::Mismatch {
                site,
                sku,
                stored: Balance::default(),
                replayed: balance,
            });
        }
    }
    Ok(report)
}
