//! Stock receipts, and the journal every script writes its movements through.

use super::recalled;
use crate::tx::{Balances, Fail, MovementRow, Read, Remembered, Tx};
use crate::{Idem, Outcome, StockRow};
use jiff::Timestamp;
use rendan_domain::SiteId;
use rendan_domain::catalogue::Sku;
use rendan_domain::stock::{Balance, MovementKind, StockError};
use std::collections::HashMap;

/// The movements of one script over balances it read in this transaction: each movement is
/// decided by [`Balance::apply`] on the balance as the earlier movements left it, and
/// [`Journal::write`] stores the final balances and every movement, in order, at once.
pub(super) struct Journal {
    balances: HashMap<(SiteId, Sku), Balance>,
    touched: Vec<(SiteId, Sku)>,
    movements: Vec<MovementRow>,
}

impl Journal {
    /// A journal over balances already read (and, on a backend with several writers,
    /// locked).
    pub(super) fn over(balances: HashMap<(SiteId, Sku), Balance>) -> Journal {
        Journal {
            balances,
            touched: Vec::new(),
            movements: Vec::new(),
        }
    }

    /// Reads `keys` (created when missing, and locked) and starts a journal over them.
    pub(super) async fn open(tx: &mut dyn Tx, keys: &[(SiteId, Sku)]) -> Result<Journal, Fail> {
        let mut keys = keys.to_vec();
        // One lock order for every script, so that two transactions cannot wait on each other.
        keys.sort();
        keys.dedup();
        let read = tx.balances(&keys, Read::LockOrCreate).await?;
        Ok(Journal::over(read.into_iter().collect()))
    }

    /// What is free to reserve at `site` for `sku`, as the movements so far leave it.
    pub(super) fn available(&self, site: &SiteId, sku: &Sku) -> i64 {
        self.balances
            .get(&(site.clone(), sku.clone()))
            .copied()
            .unwrap_or_default()
            .available()
    }

    /// Records a movement, or refuses it (nothing recorded); answers the new balance.
    pub(super) fn apply(&mut self, movement: MovementRow) -> Result<Balance, StockError> {
        let key = (movement.site.clone(), movement.sku.clone());
        let prior = self.balances.get(&key).copied().unwrap_or_default();
        let next = prior.apply(movement.kind, movement.qty)?;
        if !self.touched.contains(&key) {
            self.touched.push(key.clone());
        }
        self.balances.insert(key, next);
        self.movements.push(movement);
        Ok(next)
    }

    /// The balances the movements changed (in the order first touched) and the movements.
    pub(super) fn into_parts(self) -> (Balances, Vec<MovementRow>) {
        let balances = self
            .touched
            .into_iter()
            .map(|k| {
                let b = self.balances.get(&k).copied().unwrap_or_default();
                (k, b)
            })
            .collect();
        (balances, self.movements)
    }

    /// Stores the balances the movements changed and the movements; answers the movements'
    /// ids in the order they were applied.
    pub(super) async fn write(self, tx: &mut dyn Tx) -> Result<Vec<i64>, Fail> {
        if self.movements.is_empty() {
            return Ok(Vec::new());
        }
        let (balances, movements) = self.into_parts();
        tx.write_stock(&balances, &movements).await
    }
}

/// Receives goods at a site; a retry with `idem` answers the balance the first receipt
/// produced and receives nothing.
pub async fn receive_stock(
    tx: &mut dyn Tx,
    site: &SiteId,
    sku: &Sku,
    qty: i64,
    document: &str,
    now: Timestamp,
    idem: Option<&Idem>,
) -> Result<Outcome<StockRow>, Fail> {
    if let Some(seen) = recalled(tx, "receive_stock", idem).await? {
        return Ok(Outcome::Replayed(StockRow {
            site: site.clone(),
            sku: sku.clone(),
            balance: Balance {
                on_hand: seen.on_hand.unwrap_or_default(),
                reserved: seen.reserved.unwrap_or_default(),
            },
        }));
    }
    let mut journal = Journal::open(tx, &[(site.clone(), sku.clone())]).await?;
    let balance = journal.apply(MovementRow {
        site: site.clone(),
        sku: sku.clone(),
        kind: MovementKind::Receipt,
        qty,
        order: None,
        document: document.to_string(),
        at: now,
    })?;
    let ids = journal.write(tx).await?;
    if let Some(idem) = idem {
        let what = Remembered {
            ref_id: ids.first().copied().unwrap_or_default(),
            on_hand: Some(balance.on_hand),
            reserved: Some(balance.reserved),
        };
        tx.remember("receive_stock", idem, &what, now).await?;
    }
    Ok(Outcome::Created(StockRow {
        site: site.clone(),
        sku: sku.clone(),
        balance,
    }))
}

/// Receives opening stock in one transaction, unless any of its balances already holds
/// something (then nothing is received and the answer is 0): several processes starting on an
/// empty database at once seed it once, because the balances are locked before they are
/// looked at. Answers the number of receipts made.
pub async fn seed_stock(
    tx: &mut dyn Tx,
    receipts: &[(SiteId, Sku, i64)],
    document: &str,
    now: Timestamp,
) -> Result<usize, Fail> {
    let keys: Vec<(SiteId, Sku)> = receipts
        .iter()
        .map(|(site, sku, _)| (site.clone(), sku.clone()))
        .collect();
    let mut journal = Journal::open(tx, &keys).await?;
    if journal.balances.values().any(|b| *b != Balance::default()) {
        return Ok(0);
    }
    for (site, sku, qty) in receipts {
        journal.apply(MovementRow {
            site: site.clone(),
            sku: sku.clone(),
            kind: MovementKind::Receipt,
            qty: *qty,
            order: None,
            document: document.to_string(),
            at: now,
        })?;
    }
    journal.write(tx).await?;
    Ok(receipts.len())
}
