//! The audits: stock balances recomputed from the movement journal ([`check`]), and the
//! factories' queues planned again from their production orders ([`check_queues`]).
//!
//! The ledger's audit uses the same [`Balance::apply`] the writers use, so a journal that could
//! not have produced the stored balances (a lost movement, a balance written without one, an
//! impossible sequence) shows up as a mismatch or a replay error. The queues' audit plans the
//! open production orders of each factory and category again in promise order
//! ([`schedule::plan`]): a queue that was over-booked, or planned out of order, shows up as a
//! production order whose stored ready date is not where its queue puts it.

use crate::{ProductionQuery, ProductionStatus, Store, StoreError};
use jiff::civil::Date;
use rendan_domain::SiteId;
use rendan_domain::catalogue::Sku;
use rendan_domain::schedule::{self, Capacities, Job};
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

/// A production order that is not where its factory's queue puts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misplaced {
    /// The production order.
    pub production_order: i64,
    /// Its stored ready date.
    pub stored: Date,
    /// Where planning the queue again in promise order finishes it.
    pub planned: Date,
}

/// Plans every factory's open production orders again, oldest first, from their earliest days
/// onto `capacities`, and lists those whose stored ready date differs. Empty when every queue
/// holds: no day of any factory is booked beyond its capacity and every order finishes where
/// the promise order puts it.
pub async fn check_queues(
    store: &dyn Store,
    capacities: &Capacities,
) -> Result<Vec<Misplaced>, StoreError> {
    const PAGE: u32 = 5_000;
    let mut open = Vec::new();
    let mut before_id = None;
    loop {
        let page = store
            .production_orders(&ProductionQuery {
                status: Some(ProductionStatus::Open),
                before_id,
                limit: PAGE,
                ..Default::default()
            })
            .await?;
        open.extend(page.items);
        match page.next {
            Some(next) => before_id = Some(next),
            None => break,
        }
    }
    open.sort_by_key(|p| p.id);
    let jobs: Vec<Job<usize>> = open.iter().enumerate().map(|(k, p)| p.job(k)).collect();
    let slots = schedule::plan(capacities, &BTreeMap::new(), &jobs)
        .map_err(|e| StoreError::Backend(format!("a queue cannot be planned: {e}")))?;
    Ok(slots
        .into_iter()
        .filter_map(|slot| {
            let p = &open[slot.key];
            (slot.finish != p.ready_date).then_some(Misplaced {
                production_order: p.id,
                stored: p.ready_date,
                planned: slot.finish,
            })
        })
        .collect())
}
