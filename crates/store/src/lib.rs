//! The storage interface: everything rendan keeps, behind one trait with one crate per backend.
//!
//! [`Store`] speaks in domain types. Backends (today `rendan-store-sqlite`; PostgreSQL next)
//! persist and read; they never decide business questions: fulfilment choices come from
//! [`rendan_domain::fulfilment`], balance arithmetic from [`rendan_domain::stock::Balance`],
//! order transitions from [`rendan_domain::order::OrderStatus::apply`]. [`ledger`] recomputes
//! balances from the journal for any backend.

pub mod ledger;

use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use rendan_domain::access::{Principal, Role, Visibility};
use rendan_domain::catalogue::Sku;
use rendan_domain::fulfilment::{OrderOptions, PromiseRules};
use rendan_domain::order::{Channel, IllegalTransition, NewOrder, Order, OrderStatus};
use rendan_domain::stock::{Balance, MovementKind, StockError};
use rendan_domain::topology::Topology;
use rendan_domain::{Invalid, Region, SiteId};

pub use rendan_domain::production::{ProductionOrder, ProductionStatus};

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist (or is outside the caller's view).
    #[error("{0} not found")]
    NotFound(String),
    /// The idempotency key was used before with a different request.
    #[error("Idempotency-Key was already used for a different request (order {order})")]
    IdempotencyMismatch {
        /// The order the key belongs to.
        order: i64,
    },
    /// The order's state forbids the change.
    #[error(transparent)]
    Transition(#[from] IllegalTransition),
    /// A production order is not open.
    #[error("production order {id} is {}", .status.as_str())]
    ProductionClosed {
        /// Its id.
        id: i64,
        /// Its status.
        status: ProductionStatus,
    },
    /// The ledger refused a movement.
    #[error(transparent)]
    Stock(#[from] StockError),
    /// A referenced value is unknown or breaks a rule.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The backend failed (disk, corruption, shutdown); the message is for logs.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// A request to accept an order; the options were computed from the topology beforehand.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    /// Who sends it (orders remember their creator; keys are scoped per token).
    pub token_id: i64,
    /// The client's idempotency key.
    pub idempotency_key: String,
    /// A digest of the canonical request, to tell a retry from a different request.
    pub request_hash: Vec<u8>,
    /// The validated order.
    pub order: NewOrder,
    /// Fulfilment candidates for each line.
    pub options: OrderOptions,
    /// Promise-date constants.
    pub rules: PromiseRules,
    /// The date it is accepted on.
    pub today: Date,
    /// The instant it is accepted at.
    pub now: Timestamp,
}

/// The outcome of [`Store::place_order`].
#[derive(Debug, Clone)]
pub enum Placed {
    /// A new order.
    Created(Order),
    /// The key was seen before with the same request: the existing order.
    Replayed(Order),
}

/// Filters and page position for listing orders. Results are newest first.
#[derive(Debug, Clone, Default)]
pub struct OrderQuery {
    /// What the caller may see.
    pub visibility: Visibility,
    /// Only this status.
    pub status: Option<OrderStatus>,
    /// Only this channel.
    pub channel: Option<Channel>,
    /// Only this region.
    pub region: Option<Region>,
    /// Created at or after.
    pub created_from: Option<Timestamp>,
    /// Created before.
    pub created_to: Option<Timestamp>,
    /// Continue after this order id (exclusive).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// One page of results and where the next one starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass back to continue; `None` on the last page.
    pub next: Option<i64>,
}

/// A stock balance row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockRow {
    /// Site.
    pub site: SiteId,
    /// SKU.
    pub sku: Sku,
    /// On hand and reserved.
    pub balance: Balance,
}

/// Filters for stock balances.
#[derive(Debug, Clone, Default)]
pub struct StockQuery {
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only this SKU.
    pub sku: Option<Sku>,
    /// Only sites of this region.
    pub region: Option<Region>,
}

/// A journal entry of the stock ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement {
    /// Sequence number (journal order).
    pub id: i64,
    /// Site.
    pub site: SiteId,
    /// SKU.
    pub sku: Sku,
    /// What happened.
    pub kind: MovementKind,
    /// How many.
    pub qty: i64,
    /// The order that caused it, if any.
    pub order: Option<i64>,
    /// The document that caused it (receipt or production order reference).
    pub document: String,
    /// When.
    pub at: Timestamp,
}

/// Filters for production orders. Results are newest first.
#[derive(Debug, Clone, Default)]
pub struct ProductionQuery {
    /// Only this status.
    pub status: Option<ProductionStatus>,
    /// Only this factory.
    pub factory: Option<SiteId>,
    /// Only those destined for this region.
    pub region: Option<Region>,
    /// Continue after this id (exclusive).
    pub before_id: Option<i64>,
    /// Page size.
    pub limit: u32,
}

/// Everything rendan persists.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Writes nodes, sites and products (insert or update), keeping their ids stable.
    async fn save_topology(&self, topology: &Topology) -> Result<(), StoreError>;

    /// Accepts an order atomically: idempotency, reservations or production orders, journal.
    async fn place_order(&self, cmd: PlaceOrder) -> Result<Placed, StoreError>;

    /// One order.
    async fn order(&self, id: i64) -> Result<Option<Order>, StoreError>;

    /// A page of orders.
    async fn orders(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError>;

    /// Cancels an order visible under `visibility`, releasing its reservations and cancelling
    /// its open production orders in the same transaction.
    async fn cancel_order(
        &self,
        id: i64,
        visibility: &Visibility,
        now: Timestamp,
    ) -> Result<Order, StoreError>;

    /// Receives goods at a site; `document` names the receipt.
    async fn receive_stock(
        &self,
        site: &SiteId,
        sku: &Sku,
        qty: i64,
        document: &str,
        now: Timestamp,
    ) -> Result<StockRow, StoreError>;

    /// Balances matching the query, ordered by site then SKU.
    async fn stock(&self, query: &StockQuery) -> Result<Vec<StockRow>, StoreError>;

    /// Journal entries with id greater than `after`, in journal order, at most `limit`.
    async fn movements(&self, after: i64, limit: u32) -> Result<Vec<Movement>, StoreError>;

    /// A page of production orders.
    async fn production_orders(
        &self,
        query: &ProductionQuery,
    ) -> Result<Page<ProductionOrder>, StoreError>;

    /// Completes a production order (visible in `region` when scoped): receipt into the
    /// destination and reservation for its order in one transaction; the order becomes ready
    /// when no production order of it stays open.
    async fn complete_production(
        &self,
        id: i64,
        region: Option<&Region>,
        now: Timestamp,
    ) -> Result<(ProductionOrder, Order), StoreError>;

    /// Stores a new token (by its hash) and returns its id.
    async fn create_token(
        &self,
        hash: &[u8],
        role: &Role,
        label: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError>;

    /// The principal of a token hash, if any.
    async fn principal(&self, hash: &[u8]) -> Result<Option<Principal>, StoreError>;

    /// Whether any admin token exists.
    async fn has_admin(&self) -> Result<bool, StoreError>;

    /// Count of orders per status.
    async fn order_counts(&self) -> Result<Vec<(OrderStatus, i64)>, StoreError>;
}
