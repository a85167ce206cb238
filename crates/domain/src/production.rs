//! Make-to-order production orders and their lifecycle.
//!
//! ```text
//!   open ──complete──► completed
//!     └───cancel─────► cancelled
//! ```
//!
//! Both ends are final. [`ProductionStatus::apply`] is the only place that decides a
//! transition; [`on_order_cancel`] says what cancelling the customer order does to each of its
//! production orders, and [`order_after_completion`] whether the order becomes ready.

use crate::catalogue::{Category, Sku};
use crate::order::{IllegalTransition, OrderEvent, OrderStatus};
use crate::{Invalid, Region, SiteId};
use jiff::Timestamp;
use jiff::civil::Date;

/// Lifecycle of a production order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductionStatus {
    /// Being made.
    Open,
    /// Received into the destination warehouse and reserved for its order.
    Completed,
    /// Its order was cancelled before completion.
    Cancelled,
}

/// Something that happens to a production order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductionEvent {
    /// The goods are made and received at the destination.
    Complete,
    /// The customer order was cancelled.
    Cancel,
}

/// A production order is no longer open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("production order is {}", .current.as_str())]
pub struct ProductionClosed {
    /// The state it is in.
    pub current: ProductionStatus,
}

impl ProductionStatus {
    /// All states.
    pub const ALL: [ProductionStatus; 3] = [
        ProductionStatus::Open,
        ProductionStatus::Completed,
        ProductionStatus::Cancelled,
    ];

    /// Wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProductionStatus::Open => "open",
            ProductionStatus::Completed => "completed",
            ProductionStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a wire name.
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        ProductionStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| {
                Invalid::new(
                    field,
                    format!("expected open, completed or cancelled, got {value:?}"),
                )
            })
    }

    /// The one place where production transitions are decided: only an open order moves.
    pub fn apply(self, event: ProductionEvent) -> Result<ProductionStatus, ProductionClosed> {
        match (self, event) {
            (ProductionStatus::Open, ProductionEvent::Complete) => Ok(ProductionStatus::Completed),
            (ProductionStatus::Open, ProductionEvent::Cancel) => Ok(ProductionStatus::Cancelled),
            (current, _) => Err(ProductionClosed { current }),
        }
    }
}

/// A make-to-order production order.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductionOrder {
    /// Id.
    pub id: i64,
    /// The customer order it serves.
    pub order_id: i64,
    /// What.
    pub sku: Sku,
    /// How many.
    pub qty: u32,
    /// Who makes it.
    pub factory: SiteId,
    /// Where it goes.
    pub destination: SiteId,
    /// Region of the destination.
    pub region: Region,
    /// State.
    pub status: ProductionStatus,
    /// The product's category, whose capacity it takes at the factory.
    pub category: Category,
    /// The first day it could be finished: acceptance plus the maker's lead time (a local
    /// date of the factory's node).
    pub earliest: Date,
    /// Planned ready date at the factory (a local date of the factory's node): the day its
    /// last unit is finished in the factory's schedule.
    pub ready_date: Date,
    /// Days from the factory to the destination.
    pub transfer_days: u32,
    /// Created.
    pub created_at: Timestamp,
    /// Completed or cancelled.
    pub closed_at: Option<Timestamp>,
}

impl ProductionOrder {
    /// Its place in its factory's queue, for [`crate::schedule::plan`]: the units still to
    /// be made from its earliest day, under the caller's `key`.
    pub fn job<K>(&self, key: K) -> crate::schedule::Job<K> {
        crate::schedule::Job {
            key,
            factory: self.factory.clone(),
            category: self.category,
            units: self.qty,
            earliest: self.earliest,
        }
    }
}

/// What cancelling its customer order does to one production order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelStep {
    /// Still being made: cancel it.
    Cancel,
    /// Already received and reserved for the order: release the reservation.
    ReleaseGoods,
    /// Already cancelled: nothing.
    Nothing,
}

/// The step for a production order in `status` when its customer order is cancelled.
pub fn on_order_cancel(status: ProductionStatus) -> CancelStep {
    match status {
        ProductionStatus::Open => CancelStep::Cancel,
        ProductionStatus::Completed => CancelStep::ReleaseGoods,
        ProductionStatus::Cancelled => CancelStep::Nothing,
    }
}

/// The customer order's next state after one of its production orders completed, with
/// `still_open` of them left; `None` when it stays as it is.
pub fn order_after_completion(
    order: OrderStatus,
    still_open: usize,
) -> Result<Option<OrderStatus>, IllegalTransition> {
    if still_open > 0 || order != OrderStatus::InProduction {
        return Ok(None);
    }
    order.apply(OrderEvent::AllLinesReady).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_production_orders_move() {
        use ProductionEvent::*;
        use ProductionStatus::*;
        assert_eq!(Open.apply(Complete), Ok(Completed));
        assert_eq!(Open.apply(Cancel), Ok(Cancelled));
        assert_eq!(
            Completed.apply(Complete),
            Err(ProductionClosed { current: Completed })
        );
        assert_eq!(
            Cancelled.apply(Complete).unwrap_err().to_string(),
            "production order is cancelled"
        );
    }

    #[test]
    fn cancelling_the_order_cancels_or_releases() {
        assert_eq!(on_order_cancel(ProductionStatus::Open), CancelStep::Cancel);
        assert_eq!(
            on_order_cancel(ProductionStatus::Completed),
            CancelStep::ReleaseGoods
        );
        assert_eq!(
            on_order_cancel(ProductionStatus::Cancelled),
            CancelStep::Nothing
        );
    }

    #[test]
    fn the_order_is_ready_when_the_last_production_order_completes() {
        assert_eq!(
            order_after_completion(OrderStatus::InProduction, 1),
            Ok(None)
        );
        assert_eq!(
            order_after_completion(OrderStatus::InProduction, 0),
            Ok(Some(OrderStatus::Ready))
        );
        assert_eq!(order_after_completion(OrderStatus::Cancelled, 0), Ok(None));
    }
}
