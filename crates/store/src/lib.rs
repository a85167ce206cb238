//! The storage interface: everything rendan keeps, behind one trait with one crate per backend.
//!
//! [`Store`] speaks in domain types. Backends (`rendan-store-sqlite`, `rendan-store-postgres`)
//! persist and read; they never decide business questions: fulfilment choices come from
//! [`rendan_domain::fulfilment`], balance arithmetic from [`rendan_domain::stock::Balance`],
//! order transitions from [`rendan_domain::order::OrderStatus::apply`]. [`ledger`] recomputes
//! balances from the journal for any backend.

pub mod batch;
pub mod ledger;
pub mod rows;
pub mod script;
pub mod tx;

use async_trait::async_trait;
use jiff::Timestamp;
use rendan_domain::access::{Principal, PrincipalName, Role, RoleMismatch, Visibility};
use rendan_domain::catalogue::Sku;
use rendan_domain::fulfilment::{OrderOptions, PromiseRules};
use rendan_domain::order::{
    Channel, DuplicateReference, IllegalTransition, NewOrder, Order, OrderStatus,
};
use rendan_domain::stock::{Balance, MovementKind, StockError};
use rendan_domain::topology::Topology;
use rendan_domain::{Invalid, Region, SiteId};
use std::sync::Arc;

pub use rendan_domain::production::{ProductionOrder, ProductionStatus};

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The thing does not exist (or is outside the caller's view).
    #[error("{0} not found")]
    NotFound(String),
    /// The idempotency key was used before with a different request.
    #[error("Idempotency-Key was already used for a different request")]
    IdempotencyMismatch,
    /// The channel already has an order with this reference.
    #[error(transparent)]
    DuplicateReference(#[from] DuplicateReference),
    /// A visit cannot be booked, or a day's plan cannot be changed; the reason says why.
    #[error(transparent)]
    Refused(#[from] rendan_domain::appointment::Refusal),
    /// Something with the same name exists already (a crew at its depot).
    #[error("{0}")]
    Exists(String),
    /// The thing changed since the caller read it (a plan optimised on an older day).
    #[error("{0}")]
    Stale(String),
    /// A token was asked for a principal that has another role.
    #[error(transparent)]
    RoleMismatch(#[from] RoleMismatch),
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
    /// Another process has the data open; the message names it and the lock file.
    #[error("{0}")]
    InUse(String),
    /// The backend failed (disk, corruption, shutdown); the message is for logs.
    #[error("storage failure: {0}")]
    Backend(String),
}

/// A principal's idempotency key for one request, with the fingerprint of its command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idem {
    /// The principal the key belongs to.
    pub principal: i64,
    /// The client's key.
    pub key: String,
    /// A digest of the validated command, to tell a retry from a different request.
    pub fingerprint: Vec<u8>,
}

/// The outcome of a mutating call made with an idempotency key.
#[derive(Debug, Clone)]
pub enum Outcome<T> {
    /// Carried out now.
    Created(T),
    /// The key was seen before with the same command: what that request produced.
    Replayed(T),
}

impl<T> Outcome<T> {
    /// The value, however it came.
    pub fn into_inner(self) -> T {
        match self {
            Outcome::Created(t) | Outcome::Replayed(t) => t,
        }
    }

    /// Whether this is a replay.
    pub fn is_replay(&self) -> bool {
        matches!(self, Outcome::Replayed(_))
    }

    /// Maps the value, keeping how it came.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Created(t) => Outcome::Created(f(t)),
            Outcome::Replayed(t) => Outcome::Replayed(f(t)),
        }
    }
}

/// A request to accept an order; the options were computed from the topology beforehand.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    /// The principal's key (orders belong to the principal).
    pub idem: Idem,
    /// The token the request came with (kept for audit).
    pub token_id: i64,
    /// The validated order.
    pub order: NewOrder,
    /// Fulfilment candidates for each line.
    pub options: OrderOptions,
    /// Promise-date constants.
    pub rules: PromiseRules,
    /// The instant it is accepted at (dates derive from it in each node's zone).
    pub now: Timestamp,
}

/// The outcome of [`Store::place_order`].
pub type Placed = Outcome<Order>;

/// What planning a factory's queue again needs: the topology (capacities, time zones) and
/// the promise rules.
#[derive(Debug, Clone)]
pub struct Planning {
    /// The topology the platform runs with.
    pub topology: Arc<Topology>,
    /// Promise-date constants.
    pub rules: PromiseRules,
}

/// What planning needs of a booked visit's order: where, what, how the crew gets in.
#[derive(Debug, Clone, PartialEq)]
pub struct Visit {
    /// The order.
    pub order: i64,
    /// Its state.
    pub status: OrderStatus,
    /// The customer's location.
    pub location: rendan_domain::LatLon,
    /// Its lines: SKU and units.
    pub lines: Vec<(Sku, u32)>,
    /// How the crew reaches the place of installation.
    pub site_access: rendan_domain::visit::SiteAccess,
}

impl Visit {
    /// The facts of `order`.
    pub fn of(order: &Order) -> Visit {
        Visit {
            order: order.id,
            status: order.status,
            location: order.customer.location,
            lines: order.lines.iter().map(|l| (l.sku.clone(), l.qty)).collect(),
            site_access: order.site_access,
        }
    }
}

/// A visit booked on a depot-day, with its place in the day's plan.
#[derive(Debug, Clone)]
pub struct Booked {
    /// The appointment (window and crew).
    pub appointment: rendan_domain::appointment::Appointment,
    /// Its position in its crew's route (0: first).
    pub position: usize,
    /// What planning needs of its order.
    pub visit: Visit,
}

/// A depot-day: its plan's state and every visit booked on it, by crew and position.
#[derive(Debug, Clone)]
pub struct DepotDay {
    /// The depot.
    pub depot: SiteId,
    /// The local date.
    pub date: jiff::civil::Date,
    /// Draft or published.
    pub status: rendan_domain::appointment::PlanStatus,
    /// Incremented by every change of the plan.
    pub version: i64,
    /// The booked visits, by crew then position.
    pub visits: Vec<Booked>,
}

/// What a booking decision sees: the depot's crews and the day as it stands, read inside the
/// booking's transaction (locked, so no other booking of that day runs meanwhile).
#[derive(Debug, Clone)]
pub struct DayState {
    /// The depot's crews (working that day or not).
    pub crews: Vec<rendan_domain::crew::Crew>,
    /// The day.
    pub day: DepotDay,
}

/// Decides where a visit goes in a depot-day: the route engine's insertion into the day's
/// plan, behind a trait so that the store, which only persists and locks, never knows it.
pub trait Decide: Send + Sync {
    /// The crew and position (in that crew's route) that keep every booked visit and this
    /// one in its window; or why there is none.
    fn place(
        &self,
        state: &DayState,
        order: &Order,
        productions: &[ProductionOrder],
        window: rendan_domain::appointment::Window,
    ) -> Result<(i64, usize), rendan_domain::appointment::Refusal>;
}

/// A request to book a visit.
#[derive(Clone)]
pub struct BookVisit {
    /// The order.
    pub order: i64,
    /// What the caller may see.
    pub visibility: Visibility,
    /// The depot that serves the order.
    pub depot: SiteId,
    /// The local date.
    pub date: jiff::civil::Date,
    /// The window.
    pub window: rendan_domain::appointment::Window,
    /// When.
    pub now: Timestamp,
    /// Makes a retry answer the same appointment.
    pub idem: Option<Idem>,
    /// Where the visit goes in the day's plan.
    pub decide: Arc<dyn Decide>,
}

impl std::fmt::Debug for BookVisit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BookVisit")
            .field("order", &self.order)
            .field("depot", &self.depot)
            .field("date", &self.date)
            .field("window", &self.window)
            .finish_non_exhaustive()
    }
}

/// A request to cancel a booked visit.
#[derive(Debug, Clone)]
pub struct UnbookVisit {
    /// The order.
    pub order: i64,
    /// What the caller may see.
    pub visibility: Visibility,
    /// When.
    pub now: Timestamp,
    /// Makes a retry answer the same order.
    pub idem: Option<Idem>,
}

/// A new plan for a draft depot-day: every booked visit, by crew, in visit order.
#[derive(Debug, Clone)]
pub struct SetRoutes {
    /// The depot.
    pub depot: SiteId,
    /// The local date.
    pub date: jiff::civil::Date,
    /// The version the plan was computed from; refused when the day changed since.
    pub version: i64,
    /// (crew, orders in visit order); `None` keeps the plan as it is (the optimiser found
    /// nothing cheaper) and only records the request's key.
    pub routes: Option<Vec<(i64, Vec<i64>)>>,
    /// When.
    pub now: Timestamp,
    /// The request's key: a retry answers the day as it is and changes nothing.
    pub idem: Option<Idem>,
}

/// A request to publish a depot-day's plan.
#[derive(Debug, Clone)]
pub struct PublishDay {
    /// The depot.
    pub depot: SiteId,
    /// The local date.
    pub date: jiff::civil::Date,
    /// Today at the depot: a day already begun sends its orders out for delivery at once.
    pub today: jiff::civil::Date,
    /// When.
    pub now: Timestamp,
    /// The request's key, if it came with one.
    pub idem: Option<Idem>,
}

/// A crew's stop event for one visit of an order.
#[derive(Debug, Clone)]
pub struct RecordStop {
    /// The order visited.
    pub order: i64,
    /// The local date of the visit the event belongs to (the event's device time at the depot).
    pub date: jiff::civil::Date,
    /// The event.
    pub event: rendan_domain::stop::StopEvent,
    /// The crew the caller speaks for; `None` for a caller that may report for any crew.
    pub crew: Option<i64>,
    /// The principal posting it.
    pub principal: i64,
    /// A digest of the validated event, to tell a retry from another event with the same id.
    pub fingerprint: String,
    /// The topology (replacement goods are placed by the usual fulfilment rules).
    pub planning: Planning,
    /// When it was received.
    pub now: Timestamp,
}

/// A visit as its stop events left it.
#[derive(Debug, Clone, PartialEq)]
pub struct StopRecord {
    /// The visit and what its events have done.
    pub attempt: rendan_domain::stop::Attempt,
    /// The state folded from its events.
    pub state: rendan_domain::stop::StopState,
    /// Its events, in device-time order.
    pub events: Vec<rendan_domain::stop::Reported>,
    /// The order's state now.
    pub status: OrderStatus,
}

/// Pairs each visit with its events (both sorted by order; events by order, then time).
pub fn pair_visits(
    attempts: Vec<rendan_domain::stop::Attempt>,
    events: Vec<rendan_domain::stop::Reported>,
) -> Vec<(
    rendan_domain::stop::Attempt,
    Vec<rendan_domain::stop::Reported>,
)> {
    let mut by_visit: std::collections::HashMap<(i64, jiff::civil::Date), Vec<_>> =
        std::collections::HashMap::new();
    for e in events {
        by_visit.entry((e.order, e.date)).or_default().push(e);
    }
    attempts
        .into_iter()
        .map(|a| {
            let events = by_visit.remove(&(a.order, a.date)).unwrap_or_default();
            (a, events)
        })
        .collect()
}

/// A request to register a webhook for a channel.
#[derive(Debug, Clone)]
pub struct CreateWebhook {
    /// The channel principal whose orders it follows: its id, or (an admin's request) its
    /// name, which must name a channel.
    pub channel: Result<i64, rendan_domain::access::PrincipalName>,
    /// The webhook.
    pub hook: rendan_domain::webhook::NewWebhook,
    /// When.
    pub now: Timestamp,
    /// The request's key.
    pub idem: Option<Idem>,
}

/// An outbox row due for delivery, with what its request needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DueDelivery {
    /// The outbox row (the `Rendan-Delivery` id).
    pub id: i64,
    /// Its webhook.
    pub webhook: i64,
    /// Where to POST.
    pub url: String,
    /// The HMAC key.
    pub secret: String,
    /// The order.
    pub order: i64,
    /// The channel's reference of the order.
    pub external_ref: String,
    /// The status it entered.
    pub status: OrderStatus,
    /// When it entered it (the delivery is given up a day later).
    pub at: Timestamp,
    /// Attempts made so far.
    pub attempts: u32,
}

/// What became of a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    /// Delivered (a 2xx answer).
    Delivered,
    /// Failed; tried again at this instant.
    RetryAt(Timestamp),
    /// Failed for a day: given up.
    GaveUp,
}

impl AfterAttempt {
    /// The wire name of the attempt's outcome.
    pub fn as_str(&self) -> &'static str {
        match self {
            AfterAttempt::Delivered => "delivered",
            AfterAttempt::RetryAt(_) => "retrying",
            AfterAttempt::GaveUp => "given_up",
        }
    }
}

/// One attempt to deliver an outbox row.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryAttempt {
    /// The outbox row.
    pub delivery: i64,
    /// Its webhook.
    pub webhook: i64,
    /// Its order.
    pub order: i64,
    /// The status told.
    pub status: OrderStatus,
    /// Which attempt (1: the first).
    pub attempt: u32,
    /// When it was made.
    pub at: Timestamp,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// What became of the delivery.
    pub after: AfterAttempt,
}

/// A request to cancel an order.
#[derive(Debug, Clone)]
pub struct CancelOrder {
    /// The order.
    pub id: i64,
    /// What the caller may see (another's order is not found).
    pub visibility: Visibility,
    /// When.
    pub now: Timestamp,
    /// Makes a retry answer the same order.
    pub idem: Option<Idem>,
    /// For re-planning the queues its production orders leave.
    pub planning: Planning,
}

/// A request to complete a production order.
#[derive(Debug, Clone)]
pub struct CompleteProduction {
    /// The production order.
    pub id: i64,
    /// The caller's region, when scoped (another region's production order is not found).
    pub region: Option<Region>,
    /// When.
    pub now: Timestamp,
    /// Makes a retry answer the same production order.
    pub idem: Option<Idem>,
    /// For re-planning the factory's queue and re-promising the orders in it.
    pub planning: Planning,
}

/// A token to store, for a principal created on first use.
#[derive(Debug, Clone)]
pub struct NewTokenRecord {
    /// SHA-256 of the secret.
    pub hash: Vec<u8>,
    /// The principal it belongs to.
    pub principal: PrincipalName,
    /// The role asked for (must be the principal's, when it exists).
    pub role: Role,
    /// Where it was created (`api`, `cli`, ...).
    pub label: String,
    /// When.
    pub now: Timestamp,
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Token id.
    pub id: i64,
    /// Its principal's id.
    pub principal_id: i64,
    /// Its principal's name.
    pub principal: String,
    /// The principal's role.
    pub role: Role,
    /// Where it was created.
    pub label: String,
    /// When.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
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

    /// Cancels an order, releasing its reservations and cancelling its open production orders
    /// in the same transaction ([`script::cancel_order`]).
    async fn cancel_order(&self, cmd: CancelOrder) -> Result<Outcome<Order>, StoreError>;

    /// Receives goods at a site; `document` names the receipt. A retry with `idem` answers
    /// the balance the first receipt produced and receives nothing.
    async fn receive_stock(
        &self,
        site: &SiteId,
        sku: &Sku,
        qty: i64,
        document: &str,
        now: Timestamp,
        idem: Option<Idem>,
    ) -> Result<Outcome<StockRow>, StoreError>;

    /// Receives opening stock (`(site, sku, qty)`) in one transaction unless any of those
    /// balances already holds something; answers how many receipts were made
    /// ([`script::seed_stock`]).
    async fn seed_stock(
        &self,
        receipts: Vec<(SiteId, Sku, i64)>,
        document: &str,
        now: Timestamp,
    ) -> Result<usize, StoreError>;

    /// Balances matching the query, ordered by site then SKU.
    async fn stock(&self, query: &StockQuery) -> Result<Vec<StockRow>, StoreError>;

    /// Journal entries with id greater than `after`, in journal order, at most `limit`.
    async fn movements(&self, after: i64, limit: u32) -> Result<Vec<Movement>, StoreError>;

    /// Every production order of these customer orders, by id.
    async fn production_orders_of(
        &self,
        orders: &[i64],
    ) -> Result<Vec<ProductionOrder>, StoreError>;

    /// A page of production orders.
    async fn production_orders(
        &self,
        query: &ProductionQuery,
    ) -> Result<Page<ProductionOrder>, StoreError>;

    /// Completes a production order: receipt into the destination and reservation for its
    /// order, the factory's queue planned again and the orders in it re-promised, in one
    /// transaction ([`script::complete_production`]).
    async fn complete_production(
        &self,
        cmd: CompleteProduction,
    ) -> Result<Outcome<(ProductionOrder, Order)>, StoreError>;

    /// Stores a new token (by its hash) for its principal, creating the principal on first
    /// use; a principal's tokens share its role ([`rendan_domain::access::check_new_token`]).
    async fn create_token(
        &self,
        token: NewTokenRecord,
        idem: Option<Idem>,
    ) -> Result<Outcome<TokenInfo>, StoreError>;

    /// Revokes a token (revoking it again changes nothing); its principal keeps its orders.
    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<TokenInfo, StoreError>;

    /// Every token, oldest first.
    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError>;

    /// The principal behind a token hash, unless the token is unknown or revoked.
    async fn principal(&self, hash: &[u8]) -> Result<Option<Principal>, StoreError>;

    /// Whether any admin token exists.
    async fn has_admin(&self) -> Result<bool, StoreError>;

    /// Count of orders per status.
    async fn order_counts(&self) -> Result<Vec<(OrderStatus, i64)>, StoreError>;

    /// Stores a crew at a depot; a retry with `idem` answers the same crew.
    async fn create_crew(
        &self,
        depot: SiteId,
        crew: rendan_domain::crew::NewCrew,
        now: Timestamp,
        idem: Option<Idem>,
    ) -> Result<Outcome<rendan_domain::crew::Crew>, StoreError>;

    /// The crews of a depot (every crew when `None`), by id.
    async fn crews(
        &self,
        depot: Option<&SiteId>,
    ) -> Result<Vec<rendan_domain::crew::Crew>, StoreError>;

    /// A depot-day as it stands (an empty draft when nothing is booked).
    async fn depot_day(
        &self,
        depot: &SiteId,
        date: jiff::civil::Date,
    ) -> Result<DepotDay, StoreError>;

    /// The depot-days `from`, `from + 1`, ..., `days` of them, each as
    /// [`Store::depot_day`] answers it, read together.
    async fn depot_days(
        &self,
        depot: &SiteId,
        from: jiff::civil::Date,
        days: u32,
    ) -> Result<Vec<DepotDay>, StoreError>;

    /// The appointment of an order, if it has one.
    async fn appointment(
        &self,
        order: i64,
    ) -> Result<Option<rendan_domain::appointment::Appointment>, StoreError>;

    /// Books a visit ([`script::book_visit`]).
    async fn book_visit(
        &self,
        cmd: BookVisit,
    ) -> Result<Outcome<rendan_domain::appointment::Appointment>, StoreError>;

    /// Cancels a booked visit ([`script::unbook_visit`]).
    async fn unbook_visit(&self, cmd: UnbookVisit) -> Result<Outcome<Order>, StoreError>;

    /// Replaces a draft day's plan ([`script::set_routes`]).
    async fn set_routes(&self, cmd: SetRoutes) -> Result<Outcome<DepotDay>, StoreError>;

    /// Publishes a day's plan ([`script::publish_day`]).
    async fn publish_day(&self, cmd: PublishDay) -> Result<Outcome<DepotDay>, StoreError>;

    /// Records a crew's stop event and applies what the visit's events now say to the order
    /// and its goods; the same event id again answers the visit as it is.
    async fn record_stop(&self, cmd: RecordStop) -> Result<Outcome<StopRecord>, StoreError>;

    /// Registers a webhook; a retry with the command's key answers the same webhook.
    async fn create_webhook(
        &self,
        cmd: CreateWebhook,
    ) -> Result<Outcome<rendan_domain::webhook::Webhook>, StoreError>;

    /// The webhooks of a channel (of every channel when `None`), oldest first.
    async fn webhooks(
        &self,
        channel: Option<i64>,
    ) -> Result<Vec<rendan_domain::webhook::Webhook>, StoreError>;

    /// Up to `limit` outbox rows due at `now`: of each webhook's rows of one order, only the
    /// oldest still pending, so that an order's changes arrive in order.
    async fn due_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// Records an attempt and what it means for its delivery (durably).
    async fn record_attempt(&self, attempt: DeliveryAttempt) -> Result<(), StoreError>;

    /// A webhook's attempts, oldest first, after attempt id `after`; answers each with its id.
    async fn delivery_attempts(
        &self,
        webhook: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, DeliveryAttempt)>, StoreError>;

    /// Every visit of an order that went out, oldest first.
    async fn attempts(&self, order: i64) -> Result<Vec<rendan_domain::stop::Attempt>, StoreError>;

    /// Every visit (and its events) of every order with a visit dated in `from..=to`: what
    /// the service standards of that range are measured on.
    async fn visit_log(
        &self,
        from: jiff::civil::Date,
        to: jiff::civil::Date,
    ) -> Result<
        Vec<(
            rendan_domain::stop::Attempt,
            Vec<rendan_domain::stop::Reported>,
        )>,
        StoreError,
    >;

    /// The stop events of an order, in device-time order.
    async fn stop_events(
        &self,
        order: i64,
    ) -> Result<Vec<rendan_domain::stop::Reported>, StoreError>;

    /// Whether `idem` was used for `operation`: `Ok(true)` for a retry of the same request,
    /// `Err(IdempotencyMismatch)` for another request with that key (checked again, in the
    /// same transaction as the change, by the script that makes it; this only spares work).
    async fn seen_key(&self, operation: &'static str, idem: Idem) -> Result<bool, StoreError>;
}
