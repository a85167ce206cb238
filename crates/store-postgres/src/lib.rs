//! The PostgreSQL backend of [`rendan_store::Store`]: one database shared by any number of
//! `rendan serve` processes.
//!
//! Every write is a job of the process's writer (`writer`): jobs are committed in groups, each
//! in a savepoint of one READ COMMITTED transaction, so a hot balance row is locked and the
//! WAL flushed once per group rather than once per write. Reads use a pool. A job locks what
//! its decision rests on (`SELECT … FOR UPDATE` on the balance rows it reads, in (site, sku)
//! order), asks `rendan-domain` to decide, and writes. Races between processes are settled by
//! the database: a unique violation on an idempotency key or a channel's reference rolls the
//! job back to its savepoint and runs it again, and the rerun reads the winner's row and
//! answers as a replay or a conflict; a deadlock or serialization failure runs the group's
//! jobs again, each alone. A commit returns once PostgreSQL has flushed its WAL
//! (`synchronous_commit` left on), so an acknowledged write survives a crash of either side.
//! The SQL here only stores, locks and fetches; it mirrors `rendan-store-sqlite` statement for
//! statement where it can.

mod error;
mod reads;
mod rows;
pub mod scratch;
mod topology;
mod tx;
mod writer;

use async_trait::async_trait;
use error::{Fail, backend};
use jiff::Timestamp;
use rendan_domain::SiteId;
use rendan_domain::access::Principal;
use rendan_domain::catalogue::Sku;
use rendan_domain::order::{Order, OrderStatus};
use rendan_domain::topology::Topology;
use rendan_store::batch::{Batcher, Submit};
use rendan_store::script;
use rendan_store::{
    CancelOrder, CompleteProduction, Idem, Movement, NewTokenRecord, OrderQuery, Outcome, Page,
    PlaceOrder, Placed, ProductionOrder, ProductionQuery, StockQuery, StockRow, Store, StoreError,
    TokenInfo,
};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tx::PgTx;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How often a job that keeps losing races is run before giving up.
const MAX_ATTEMPTS: usize = 50;

/// Pooled connections per process unless the caller says otherwise.
pub const DEFAULT_CONNECTIONS: u32 = 16;

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PgStore {
    /// Reads.
    pool: PgPool,
    /// Every write.
    writer: writer::Writer,
    /// Order placement, in batches.
    intake: Batcher,
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

impl PgStore {
    /// Connects to the database at `url` with [`DEFAULT_CONNECTIONS`] and applies migrations
    /// (concurrent starts are safe: the migrator takes an advisory lock).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, DEFAULT_CONNECTIONS).await
    }

    /// As [`PgStore::connect`], with at most `connections` pooled connections.
    pub async fn connect_with(url: &str, connections: u32) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("bad database URL: {e}")))?
            .application_name("rendan");
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts.clone())
            .await
            .map_err(backend)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migration failed: {e}")))?;
        let writer = writer::Writer::start(opts, writer::WRITERS).await?;
        // One batch per writer connection: each commits while the other gathers.
        let intake = Batcher::start(place_in(writer.clone()), 1);
        Ok(Self {
            pool,
            writer,
            intake,
        })
    }

    /// A pooled connection for a read.
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, StoreError> {
        self.pool.acquire().await.map_err(backend)
    }
}

/// Order placement through the writer: one job per batch, run again from its savepoint when
/// it loses a race to another process.
fn place_in(writer: writer::Writer) -> Submit {
    Arc::new(move |cmds: Arc<Vec<PlaceOrder>>| {
        let writer = writer.clone();
        Box::pin(async move {
            writer
                .write(move |conn| {
                    let cmds = cmds.clone();
                    Box::pin(async move { script::place_orders(&mut PgTx::new(conn), &cmds).await })
                })
                .await
        })
    })
}

/// Runs a transaction script as one job of the writer: `$body` gets `tx` (the writer's
/// transaction) and fresh clones of the `$arg`s, once per run.
macro_rules! script {
    ($writer:expr, ($($arg:ident),*), |$tx:ident| $body:expr) => {
        $writer
            .write(move |conn| {
                $(let $arg = $arg.clone();)*
                Box::pin(async move {
                    let mut tx = PgTx::new(conn);
                    let $tx: &mut PgTx<'_> = &mut tx;
                    $body.await
                })
            })
            .await
    };
}

#[async_trait]
impl Store for PgStore {
    async fn save_topology(&self, topology: &Topology) -> Result<(), StoreError> {
        let topology = topology.clone();
        script!(self.writer, (topology), |tx| async {
            rendan_store::tx::Tx::save_topology(tx, &topology).await
        })
    }

    async fn place_order(&self, cmd: PlaceOrder) -> Result<Placed, StoreError> {
        self.intake.place(cmd).await
    }

    async fn order(&self, id: i64) -> Result<Option<Order>, StoreError> {
        reads::order(&mut *self.conn().await?, id)
            .await
            .map_err(Fail::into_store)
    }

    async fn orders(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        reads::orders(&mut *self.conn().await?, query)
            .await
            .map_err(Fail::into_store)
    }

    async fn cancel_order(&self, cmd: CancelOrder) -> Result<Outcome<Order>, StoreError> {
        script!(self.writer, (cmd), |tx| script::cancel_order(tx, &cmd))
    }

    async fn receive_stock(
        &self,
        site: &SiteId,
        sku: &Sku,
        qty: i64,
        document: &str,
        now: Timestamp,
        idem: Option<Idem>,
    ) -> Result<Outcome<StockRow>, StoreError> {
        let (site, sku, document) = (site.clone(), sku.clone(), document.to_string());
        script!(self.writer, (site, sku, document, idem), |tx| {
            script::receive_stock(tx, &site, &sku, qty, &document, now, idem.as_ref())
        })
    }

    async fn seed_stock(
        &self,
        receipts: Vec<(SiteId, Sku, i64)>,
        document: &str,
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let document = document.to_string();
        script!(self.writer, (receipts, document), |tx| {
            script::seed_stock(tx, &receipts, &document, now)
        })
    }

    async fn stock(&self, query: &StockQuery) -> Result<Vec<StockRow>, StoreError> {
        reads::stock(&mut *self.conn().await?, query)
            .await
            .map_err(Fail::into_store)
    }

    async fn movements(&self, after: i64, limit: u32) -> Result<Vec<Movement>, StoreError> {
        reads::movements(&mut *self.conn().await?, after, limit)
            .await
            .map_err(Fail::into_store)
    }

    async fn production_orders_of(
        &self,
        orders: &[i64],
    ) -> Result<Vec<ProductionOrder>, StoreError> {
        reads::productions_of(&mut *self.conn().await?, orders)
            .await
            .map_err(Fail::into_store)
    }

    async fn production_orders(
        &self,
        query: &ProductionQuery,
    ) -> Result<Page<ProductionOrder>, StoreError> {
        reads::production_orders(&mut *self.conn().await?, query)
            .await
            .map_err(Fail::into_store)
    }

    async fn complete_production(
        &self,
        cmd: CompleteProduction,
    ) -> Result<Outcome<(ProductionOrder, Order)>, StoreError> {
        script!(self.writer, (cmd), |tx| script::complete_production(
            tx, &cmd
        ))
    }

    async fn create_token(
        &self,
        token: NewTokenRecord,
        idem: Option<Idem>,
    ) -> Result<Outcome<TokenInfo>, StoreError> {
        script!(self.writer, (token, idem), |tx| {
            script::create_token(tx, &token, idem.as_ref())
        })
    }

    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<TokenInfo, StoreError> {
        script!(self.writer, (), |tx| script::revoke_token(tx, id, now))
    }
    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        reads::tokens(&mut *self.conn().await?)
            .await
            .map_err(Fail::into_store)
    }

    async fn principal(&self, hash: &[u8]) -> Result<Option<Principal>, StoreError> {
        reads::principal(&mut *self.conn().await?, hash)
            .await
            .map_err(Fail::into_store)
    }

    async fn has_admin(&self) -> Result<bool, StoreError> {
        reads::has_admin(&mut *self.conn().await?)
            .await
            .map_err(Fail::into_store)
    }

    async fn order_counts(&self) -> Result<Vec<(OrderStatus, i64)>, StoreError> {
        reads::order_counts(&mut *self.conn().await?)
            .await
            .map_err(Fail::into_store)
    }

    async fn create_crew(
        &self,
        depot: SiteId,
        crew: rendan_domain::crew::NewCrew,
        now: Timestamp,
        idem: Option<Idem>,
    ) -> Result<Outcome<rendan_domain::crew::Crew>, StoreError> {
        script!(self.writer, (depot, crew, idem), |tx| {
            script::create_crew(tx, &depot, &crew, now, idem.as_ref())
        })
    }

    async fn crews(
        &self,
        depot: Option<&SiteId>,
    ) -> Result<Vec<rendan_domain::crew::Crew>, StoreError> {
        reads::crews(&mut *self.conn().await?, depot)
            .await
            .map_err(Fail::into_store)
    }

    async fn depot_day(
        &self,
        depot: &SiteId,
        date: jiff::civil::Date,
    ) -> Result<rendan_store::DepotDay, StoreError> {
        let mut conn = self.conn().await?;
        let head = reads::day_head(&mut conn, depot, date)
            .await
            .map_err(Fail::into_store)?;
        let rows = reads::day_visits(&mut conn, depot, date)
            .await
            .map_err(Fail::into_store)?;
        let visits = reads::visits_on(&mut conn, depot, date, date)
            .await
            .map_err(Fail::into_store)?;
        script::assemble_day(depot, date, head, rows, visits)
    }

    async fn depot_days(
        &self,
        depot: &SiteId,
        from: jiff::civil::Date,
        days: u32,
    ) -> Result<Vec<rendan_store::DepotDay>, StoreError> {
        let to = from.saturating_add(jiff::Span::new().days(i64::from(days.max(1)) - 1));
        let mut conn = self.conn().await?;
        let heads = reads::heads_between(&mut conn, depot, from, to)
            .await
            .map_err(Fail::into_store)?;
        let rows = reads::visits_between(&mut conn, depot, from, to)
            .await
            .map_err(Fail::into_store)?;
        let visits = reads::visits_on(&mut conn, depot, from, to)
            .await
            .map_err(Fail::into_store)?;
        script::assemble_days(depot, from, days, heads, rows, visits)
    }

    async fn appointment(
        &self,
        order: i64,
    ) -> Result<Option<rendan_domain::appointment::Appointment>, StoreError> {
        Ok(reads::appointment_of(&mut *self.conn().await?, order)
            .await
            .map_err(Fail::into_store)?
            .map(|(a, _)| a))
    }

    async fn book_visit(
        &self,
        cmd: rendan_store::BookVisit,
    ) -> Result<Outcome<rendan_domain::appointment::Appointment>, StoreError> {
        script!(self.writer, (cmd), |tx| script::book_visit(tx, &cmd))
    }

    async fn unbook_visit(
        &self,
        cmd: rendan_store::UnbookVisit,
    ) -> Result<Outcome<Order>, StoreError> {
        script!(self.writer, (cmd), |tx| script::unbook_visit(tx, &cmd))
    }

    async fn set_routes(
        &self,
        cmd: rendan_store::SetRoutes,
    ) -> Result<rendan_store::Outcome<rendan_store::DepotDay>, StoreError> {
        script!(self.writer, (cmd), |tx| script::set_routes(tx, &cmd))
    }

    async fn publish_day(
        &self,
        cmd: rendan_store::PublishDay,
    ) -> Result<rendan_store::Outcome<rendan_store::DepotDay>, StoreError> {
        script!(self.writer, (cmd), |tx| script::publish_day(tx, &cmd))
    }

    async fn record_stop(
        &self,
        cmd: rendan_store::RecordStop,
    ) -> Result<Outcome<rendan_store::StopRecord>, StoreError> {
        script!(self.writer, (cmd), |tx| script::record_stop(tx, &cmd))
    }

    async fn create_webhook(
        &self,
        cmd: rendan_store::CreateWebhook,
    ) -> Result<Outcome<rendan_domain::webhook::Webhook>, StoreError> {
        script!(self.writer, (cmd), |tx| script::create_webhook(tx, &cmd))
    }

    async fn webhooks(
        &self,
        channel: Option<i64>,
    ) -> Result<Vec<rendan_domain::webhook::Webhook>, StoreError> {
        reads::webhooks(&mut *self.conn().await?, channel, None)
            .await
            .map_err(Fail::into_store)
    }

    async fn due_deliveries(
        &self,
        now: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<rendan_store::DueDelivery>, StoreError> {
        reads::due_deliveries(&mut *self.conn().await?, now.as_microsecond(), limit)
            .await
            .map_err(Fail::into_store)
    }

    async fn record_attempt(
        &self,
        attempt: rendan_store::DeliveryAttempt,
    ) -> Result<(), StoreError> {
        script!(self.writer, (attempt), |tx| script::record_attempt(
            tx, &attempt
        ))
    }

    async fn delivery_attempts(
        &self,
        webhook: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, rendan_store::DeliveryAttempt)>, StoreError> {
        reads::delivery_attempts(&mut *self.conn().await?, webhook, after, limit)
            .await
            .map_err(Fail::into_store)
    }

    async fn attempts(&self, order: i64) -> Result<Vec<rendan_domain::stop::Attempt>, StoreError> {
        reads::attempts_of(&mut *self.conn().await?, order)
            .await
            .map_err(Fail::into_store)
    }

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
    > {
        let (attempts, events) = reads::visit_log(&mut *self.conn().await?, from, to)
            .await
            .map_err(Fail::into_store)?;
        Ok(rendan_store::pair_visits(attempts, events))
    }

    async fn stop_events(
        &self,
        order: i64,
    ) -> Result<Vec<rendan_domain::stop::Reported>, StoreError> {
        reads::stop_events_of(&mut *self.conn().await?, order, None)
            .await
            .map_err(Fail::into_store)
    }

    async fn seen_key(
        &self,
        operation: &'static str,
        idem: rendan_store::Idem,
    ) -> Result<bool, StoreError> {
        script!(self.writer, (idem), |tx| script::seen_key(
            tx, operation, &idem
        ))
    }
}
