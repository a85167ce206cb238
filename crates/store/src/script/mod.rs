//! The transaction scripts: every write of [`crate::Store`], written once over [`Tx`].
//!
//! A script reads what a decision rests on through the backend's [`Tx`] (locking it where the
//! backend has several writers), asks `rendan-domain` to decide, and writes the outcome back
//! through [`Tx`]. A script may run more than once (a lost race or a lost group transaction
//! runs it again); each run starts without the previous run's writes, so it must not keep
//! state between runs.

mod appointments;
mod cancel;
mod place;
mod production;
mod stock;
mod stops;
mod tokens;
mod webhooks;

pub use appointments::{
    assemble_day, assemble_days, book_visit, create_crew, publish_day, read_day, seen_key,
    set_routes, unbook_visit,
};
pub use cancel::cancel_order;
pub use place::place_orders;
pub use production::complete_production;
pub use stock::{receive_stock, seed_stock};
pub use stops::record_stop;
pub use tokens::{create_token, revoke_token};
pub use webhooks::{create_webhook, record_attempt};

use crate::StoreError;
use crate::tx::{Fail, Tx};
use rendan_domain::order::Order;

/// Moves an order to `status` and tells the webhooks of its channel that follow it, in the
/// same transaction: every status change goes through here.
async fn set_status(
    tx: &mut dyn Tx,
    order: i64,
    status: rendan_domain::order::OrderStatus,
    now: jiff::Timestamp,
) -> Result<(), Fail> {
    tx.set_order_status(order, status, now).await?;
    tx.enqueue_changes(&[(order, status, now)]).await
}

/// One order that must exist (it was found by id in this transaction a moment ago).
async fn order_of(tx: &mut dyn Tx, id: i64) -> Result<Order, Fail> {
    tx.orders(&[id])
        .await?
        .pop()
        .ok_or_else(|| StoreError::Backend(format!("order {id} vanished")).into())
}

/// The idempotency record of `operation` for `idem`: the earlier answer's reference when the
/// key was used for the same command, a mismatch when it was used for another.
async fn recalled(
    tx: &mut dyn Tx,
    operation: &str,
    idem: Option<&crate::Idem>,
) -> Result<Option<crate::tx::Remembered>, Fail> {
    let Some(idem) = idem else { return Ok(None) };
    let Some((hash, seen)) = tx.recall(operation, idem).await? else {
        return Ok(None);
    };
    rendan_domain::idempotency::judge(&hash, &idem.fingerprint)
        .map_err(|_| StoreError::IdempotencyMismatch)?;
    Ok(Some(seen))
}
