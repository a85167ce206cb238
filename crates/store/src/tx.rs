//! What a backend offers inside one of its write transactions: the primitives the transaction
//! scripts ([`crate::script`]) are written in.
//!
//! Each primitive stores, locks or fetches rows; none decides anything. A backend implements
//! [`Tx`] once over its connection, and every write of the [`crate::Store`] trait is one script
//! run through it, so the rules (which warehouse, which factory, which promise) are written
//! once, in the domain, and called from one place.

use crate::{Idem, NewTokenRecord, StoreError, TokenInfo};
use async_trait::async_trait;
use jiff::Timestamp;
use jiff::civil::Date;
use rendan_domain::access::{PrincipalName, Role};
use rendan_domain::catalogue::{Category, Sku};
use rendan_domain::fulfilment::Queue;
use rendan_domain::order::{Channel, Customer, Fulfilment, Order, OrderStatus, PromiseReason};
use rendan_domain::production::{ProductionOrder, ProductionStatus};
use rendan_domain::schedule::Booked;
use rendan_domain::stock::{Balance, MovementKind};
use rendan_domain::topology::Topology;
use rendan_domain::{Region, SiteId};

/// Why a transaction script stopped.
#[derive(Debug)]
pub enum Fail {
    /// Lost a race on a unique constraint to another process: roll back this script's writes
    /// and run it again; the rerun sees the winner's row.
    Retry(String),
    /// The database gave up the whole transaction (deadlock, serialization failure): roll it
    /// back and run it again from the start.
    Abort(String),
    /// The answer to give the caller.
    Store(StoreError),
}

impl Fail {
    /// The error to give a caller that cannot retry (a read, or a script out of tries).
    pub fn into_store(self) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Retry(why) | Fail::Abort(why) => StoreError::Backend(why),
        }
    }
}

macro_rules! fail_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Fail {
            fn from(e: $t) -> Self {
                Fail::Store(e.into())
            }
        }
    )*};
}

fail_from!(
    StoreError,
    rendan_domain::stock::StockError,
    rendan_domain::Invalid,
    rendan_domain::order::DuplicateReference,
    rendan_domain::order::IllegalTransition,
    rendan_domain::access::RoleMismatch
);

/// Balances by (site, SKU), as a write leaves them.
pub type Balances = Vec<((SiteId, Sku), Balance)>;

/// How a balance read treats the rows it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// As committed now, without locking: a decision resting on it is taken again on locked
    /// rows before anything is written.
    Peek,
    /// Locked until the transaction ends; a row that does not exist is absent from the answer.
    Lock,
    /// Created (empty) when missing, then locked.
    LockOrCreate,
}

/// An idempotency key and a channel reference to look for among a principal's orders.
#[derive(Debug, Clone)]
pub struct OrderLookup {
    /// The principal.
    pub principal: i64,
    /// The Idempotency-Key.
    pub key: String,
    /// The channel.
    pub channel: Channel,
    /// The channel's reference.
    pub external_ref: String,
}

/// An order that a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its id.
    pub id: i64,
    /// The fingerprint of the command that created it.
    pub request_hash: Vec<u8>,
    /// Whether it was found by its key (else by its reference).
    pub same_key: bool,
}

/// An order to insert.
#[derive(Debug, Clone)]
pub struct OrderRow {
    /// Its id (from [`Tx::reserve_ids`]).
    pub id: i64,
    /// Owner.
    pub principal: i64,
    /// The token it came with.
    pub token_id: i64,
    /// Its Idempotency-Key.
    pub key: String,
    /// Fingerprint of the command.
    pub request_hash: Vec<u8>,
    /// Initial state.
    pub status: OrderStatus,
    /// Channel.
    pub channel: Channel,
    /// The channel's reference.
    pub external_ref: String,
    /// Recipient.
    pub customer: Customer,
    /// How the crew reaches the recipient.
    pub site_access: rendan_domain::visit::SiteAccess,
    /// Region.
    pub region: Region,
    /// Accepted at.
    pub now: Timestamp,
    /// Local acceptance date at the serving warehouse.
    pub accepted_on: Date,
    /// The promise.
    pub promised: Date,
}

/// A production order to insert.
#[derive(Debug, Clone)]
pub struct ProductionRow {
    /// Its id (from [`Tx::reserve_ids`]).
    pub id: i64,
    /// Its customer order.
    pub order_id: i64,
    /// The order line it makes.
    pub line_no: usize,
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
    /// Category (its capacity queue at the factory).
    pub category: Category,
    /// First day it may be finished.
    pub earliest: Date,
    /// Planned finish day.
    pub ready_date: Date,
    /// Factory to destination.
    pub transfer_days: u32,
    /// Created at.
    pub now: Timestamp,
}

/// An order line to insert.
#[derive(Debug, Clone)]
pub struct LineRow {
    /// Its order.
    pub order_id: i64,
    /// Position in the order.
    pub line_no: usize,
    /// What.
    pub sku: Sku,
    /// How many.
    pub qty: u32,
    /// How it is served.
    pub fulfilment: Fulfilment,
}

/// A journal entry to append.
#[derive(Debug, Clone)]
pub struct MovementRow {
    /// Site.
    pub site: SiteId,
    /// SKU.
    pub sku: Sku,
    /// What happened.
    pub kind: MovementKind,
    /// How many.
    pub qty: i64,
    /// The order it is for, if any.
    pub order: Option<i64>,
    /// The document that caused it.
    pub document: String,
    /// When.
    pub at: Timestamp,
}

/// Capacity a production order takes on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityRow {
    /// The production order.
    pub production_order: i64,
    /// Its factory.
    pub factory: SiteId,
    /// Its category.
    pub category: Category,
    /// The day (factory-local).
    pub day: Date,
    /// Units.
    pub units: u32,
}

/// A promise to give an order (its `promised_date` becomes `date`, and its history grows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromiseRow {
    /// The order.
    pub order_id: i64,
    /// The promised date.
    pub date: Date,
    /// When.
    pub at: Timestamp,
    /// Why.
    pub reason: PromiseReason,
}

/// Decided orders to write: every row of them, ids included, for one statement (or as few
/// as the backend can manage).
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// The orders.
    pub orders: Vec<OrderRow>,
    /// Their production orders.
    pub productions: Vec<ProductionRow>,
    /// Their lines.
    pub lines: Vec<LineRow>,
    /// The balances their reservations leave (the rows exist and are locked).
    pub balances: Balances,
    /// Their reservations, in order.
    pub movements: Vec<MovementRow>,
    /// The capacity their production orders take.
    pub capacity: Vec<CapacityRow>,
    /// Their first promises (already their `promised`).
    pub promises: Vec<PromiseRow>,
}

/// What the first request with an idempotency key produced, for the calls other than order
/// intake (orders carry their own key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remembered {
    /// The id of what it created or changed.
    pub ref_id: i64,
    /// For a receipt: the balance it produced.
    pub on_hand: Option<i64>,
    /// For a receipt: the balance it produced.
    pub reserved: Option<i64>,
}

impl Remembered {
    /// A memory of the thing with id `ref_id`.
    pub fn of(ref_id: i64) -> Self {
        Self {
            ref_id,
            on_hand: None,
            reserved: None,
        }
    }
}

/// One write transaction of a backend, in domain terms.
///
/// Every method runs inside the transaction its backend's writer opened; nothing is visible
/// to others until the writer commits. Methods take slices so that a backend can send a
/// whole batch in one statement.
#[async_trait]
pub trait Tx: Send {
    /// Whether this backend has a single writer (then every read is current and locks are
    /// unnecessary: a [`Read::Peek`] is as good as a lock).
    fn serial(&self) -> bool;

    /// For each lookup, the principal's order with that key, else the one with that channel
    /// and reference, else nothing.
    async fn find_orders(&mut self, lookups: &[OrderLookup]) -> Result<Vec<Option<Found>>, Fail>;
    /// Orders with their lines and promise histories, in the order of `ids` (missing ones
    /// left out).
    async fn orders(&mut self, ids: &[i64]) -> Result<Vec<Order>, Fail>;
    /// Locks orders' rows until the transaction ends (in id order; missing ones are skipped),
    /// so that two transactions never change one order's state, its reservations or its
    /// production orders from the same stale reading. A script that changes an order locks
    /// it before it reads anything its decision rests on.
    async fn lock_orders(&mut self, ids: &[i64]) -> Result<(), Fail>;
    /// Draws ids for `orders` new orders and `productions` new production orders; ids drawn
    /// and not used are gaps, never reused. Called before anything is locked, so that the
    /// locked part of a placement is as short as [`Tx::write_placed`].
    async fn reserve_ids(
        &mut self,
        orders: usize,
        productions: usize,
    ) -> Result<(Vec<i64>, Vec<i64>), Fail>;
    /// Writes decided orders: orders, production orders, lines, balances and movements,
    /// capacity and first promises, and the webhook outbox rows of each order's first status
    /// (as [`Tx::enqueue_changes`] would).
    async fn write_placed(&mut self, placement: &Placement) -> Result<(), Fail>;
    /// Sets an order's state.
    async fn set_order_status(
        &mut self,
        id: i64,
        status: OrderStatus,
        now: Timestamp,
    ) -> Result<(), Fail>;
    /// Gives orders new promises: each order's `promised_date` becomes the row's date and the
    /// row joins its history.
    async fn change_promises(&mut self, rows: &[PromiseRow]) -> Result<(), Fail>;

    /// The stored balances of `keys` (missing rows are absent, unless created by
    /// [`Read::LockOrCreate`]).
    async fn balances(
        &mut self,
        keys: &[(SiteId, Sku)],
        read: Read,
    ) -> Result<Vec<((SiteId, Sku), Balance)>, Fail>;
    /// Sets balances (their rows exist) and appends the movements that produced them, in
    /// order; answers the movements' ids.
    async fn write_stock(
        &mut self,
        balances: &[((SiteId, Sku), Balance)],
        movements: &[MovementRow],
    ) -> Result<Vec<i64>, Fail>;

    /// One production order.
    async fn production(&mut self, id: i64) -> Result<Option<ProductionOrder>, Fail>;
    /// Every production order of these customer orders, by id.
    async fn productions_of(&mut self, orders: &[i64]) -> Result<Vec<ProductionOrder>, Fail>;
    /// Closes a production order (completed or cancelled) and frees the capacity it held.
    async fn close_production(
        &mut self,
        id: i64,
        status: ProductionStatus,
        now: Timestamp,
    ) -> Result<(), Fail>;
    /// Locks capacity queues until the transaction ends, so that two transactions never plan
    /// on one queue at once.
    async fn lock_queues(&mut self, queues: &[Queue]) -> Result<(), Fail>;
    /// Units booked on each queue from its date on, per day.
    async fn booked(&mut self, queues: &[(Queue, Date)]) -> Result<Booked, Fail>;
    /// The open production orders of a queue, in promise order (oldest first).
    async fn queue(&mut self, queue: &Queue) -> Result<Vec<ProductionOrder>, Fail>;
    /// Replaces the capacity held by the production orders `replace` with `rows`.
    async fn set_capacity(&mut self, replace: &[i64], rows: &[CapacityRow]) -> Result<(), Fail>;
    /// Sets production orders' earliest and planned ready dates: `(id, earliest, ready)`.
    async fn set_schedule(&mut self, dates: &[(i64, Date, Date)]) -> Result<(), Fail>;

    /// What the first request with `idem` for `operation` produced, if the key was used.
    async fn recall(
        &mut self,
        operation: &str,
        idem: &Idem,
    ) -> Result<Option<(Vec<u8>, Remembered)>, Fail>;
    /// Remembers what the first request with `idem` produced.
    async fn remember(
        &mut self,
        operation: &str,
        idem: &Idem,
        what: &Remembered,
        now: Timestamp,
    ) -> Result<(), Fail>;

    /// A principal by name: its id and role.
    async fn principal_named(&mut self, name: &PrincipalName) -> Result<Option<(i64, Role)>, Fail>;
    /// Inserts a principal; answers its id.
    async fn insert_principal(
        &mut self,
        name: &PrincipalName,
        role: &Role,
        now: Timestamp,
    ) -> Result<i64, Fail>;
    /// Inserts a token for a principal; answers its id.
    async fn insert_token(&mut self, token: &NewTokenRecord, principal: i64) -> Result<i64, Fail>;
    /// One token, without its secret.
    async fn token(&mut self, id: i64) -> Result<Option<TokenInfo>, Fail>;
    /// Marks a token revoked at `now` unless it already is.
    async fn revoke_token(&mut self, id: i64, now: Timestamp) -> Result<(), Fail>;

    /// Upserts nodes, sites, products and makers, keeping ids stable.
    async fn save_topology(&mut self, topology: &Topology) -> Result<(), Fail>;

    /// Inserts a crew at a depot; answers its id.
    async fn insert_crew(
        &mut self,
        depot: &SiteId,
        crew: &rendan_domain::crew::NewCrew,
        now: Timestamp,
    ) -> Result<i64, Fail>;
    /// One crew.
    async fn crew(&mut self, id: i64) -> Result<Option<rendan_domain::crew::Crew>, Fail>;
    /// The crews of a depot, by id.
    async fn crews_of(&mut self, depot: &SiteId) -> Result<Vec<rendan_domain::crew::Crew>, Fail>;
    /// The depot-day's row, created as an empty draft when missing, locked until the
    /// transaction ends: the writes of one depot-day are serialised. Answers its status and
    /// version.
    async fn lock_day(
        &mut self,
        depot: &SiteId,
        date: Date,
    ) -> Result<(rendan_domain::appointment::PlanStatus, i64), Fail>;
    /// Sets a depot-day's status and version.
    async fn set_day(
        &mut self,
        depot: &SiteId,
        date: Date,
        status: rendan_domain::appointment::PlanStatus,
        version: i64,
    ) -> Result<(), Fail>;
    /// The visits booked on a depot-day, by crew then position (appointment and position).
    async fn day_visits(
        &mut self,
        depot: &SiteId,
        date: Date,
    ) -> Result<Vec<(rendan_domain::appointment::Appointment, usize)>, Fail>;
    /// The appointment of an order and its position, if it has one.
    async fn appointment_of(
        &mut self,
        order: i64,
    ) -> Result<Option<(rendan_domain::appointment::Appointment, usize)>, Fail>;
    /// Rewrites a depot-day's plan: its appointments (all of them, each with its crew and
    /// position) replace the ones stored.
    async fn write_visits(
        &mut self,
        depot: &SiteId,
        date: Date,
        visits: &[(rendan_domain::appointment::Appointment, usize)],
        now: Timestamp,
    ) -> Result<(), Fail>;
    /// Records visits that went out (one row per order and day).
    async fn insert_attempts(
        &mut self,
        attempts: &[rendan_domain::stop::Attempt],
        now: Timestamp,
    ) -> Result<(), Fail>;
    /// Every visit of an order that went out, oldest first.
    async fn attempts_of(&mut self, order: i64) -> Result<Vec<rendan_domain::stop::Attempt>, Fail>;
    /// Records what a visit's events have done so far.
    async fn update_attempt(
        &mut self,
        attempt: &rendan_domain::stop::Attempt,
        now: Timestamp,
    ) -> Result<(), Fail>;
    /// The order and fingerprint of a stored stop event, if its id was seen.
    async fn stop_event_seen(
        &mut self,
        id: rendan_domain::stop::EventId,
    ) -> Result<Option<(i64, String)>, Fail>;
    /// Stores a stop event with the fingerprint of the request that carried it.
    async fn insert_stop_event(
        &mut self,
        event: &rendan_domain::stop::Reported,
        fingerprint: &str,
    ) -> Result<(), Fail>;
    /// The stop events of one visit, as stored.
    async fn stop_events_of(
        &mut self,
        order: i64,
        date: Date,
    ) -> Result<Vec<rendan_domain::stop::Reported>, Fail>;
    /// Re-serves lines of an order (replacement goods): each line's fulfilment is replaced,
    /// and `productions` are created (open; their capacity is booked by planning the queue).
    async fn replace_lines(
        &mut self,
        lines: &[LineRow],
        productions: &[ProductionRow],
    ) -> Result<(), Fail>;
    /// Writes one outbox row per webhook of each order's channel that follows the order's new
    /// status (`(order, status, when)`, in the order given): the changes are told to them once
    /// this transaction commits.
    async fn enqueue_changes(
        &mut self,
        changes: &[(i64, OrderStatus, Timestamp)],
    ) -> Result<(), Fail>;
    /// Registers a webhook for a channel principal; answers its id.
    async fn insert_webhook(
        &mut self,
        channel: i64,
        hook: &rendan_domain::webhook::NewWebhook,
        now: Timestamp,
    ) -> Result<i64, Fail>;
    /// A webhook by id.
    async fn webhook(&mut self, id: i64) -> Result<Option<rendan_domain::webhook::Webhook>, Fail>;
    /// Records an attempt to deliver an outbox row and its consequence for the row.
    async fn record_attempt(&mut self, attempt: &crate::DeliveryAttempt) -> Result<(), Fail>;
}
