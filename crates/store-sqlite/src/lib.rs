//! The SQLite backend of [`rendan_store::Store`]: the embedded default.
//!
//! One file, `rendan.db`, in WAL mode with foreign keys on and `synchronous=FULL`. Reads use
//! a small pool of connections; every write goes through the single [`writer`] that commits
//! concurrent requests in groups, so a success returned to a caller is already fsync'd.
//! Every write is one of `rendan-store`'s transaction scripts run through [`tx::SqliteTx`],
//! so the SQL here only stores and fetches: decisions come from `rendan-domain`. Concurrent
//! order placements are gathered by a [`Batcher`] into one job of the writer each.

mod reads;
mod rows;
mod topology;
mod tx;
mod writer;

use async_trait::async_trait;
use jiff::Timestamp;
use rendan_domain::SiteId;
use rendan_domain::access::Principal;
use rendan_domain::catalogue::Sku;
use rendan_domain::order::{Order, OrderStatus};
use rendan_domain::topology::Topology;
use rendan_store::batch::Batcher;
use rendan_store::script;
use rendan_store::tx::Fail;
use rendan_store::{
    CancelOrder, CompleteProduction, Idem, Movement, NewTokenRecord, OrderQuery, Outcome, Page,
    PlaceOrder, Placed, ProductionOrder, ProductionQuery, StockQuery, StockRow, Store, StoreError,
    TokenInfo,
};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use tx::SqliteTx;
use writer::Writer;

/// Batches of orders submitted to the writer at once. One: the next batch gathers while this
/// one runs, and a single writer gains nothing from a second batch but a second fsync for
/// the same orders (on a disk whose flushes are slow, half the throughput).
const BATCHES_IN_FLIGHT: usize = 1;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "rendan.db";

/// The lock file that keeps a second process out of the data directory.
pub const LOCK_FILE: &str = "rendan.lock";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
    intake: Batcher,
    /// Whether a webhook may exist: while none does, a status change writes no outbox rows
    /// and costs no statement (exact, because this process is the only writer).
    hooks: Arc<AtomicBool>,
    /// Held (locked) for as long as any clone of the store lives.
    _lock: Arc<File>,
}

/// Takes the data directory's lock: the single writer is only single if one process writes.
/// The file holds the owner's pid, so a refusal can name the process in the way.
fn lock(data_dir: &Path) -> Result<File, StoreError> {
    let path = data_dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut owner = String::new();
            let _ = file.read_to_string(&mut owner);
            let owner = owner.trim();
            let who = if owner.is_empty() {
                "another process".to_string()
            } else {
                format!("process {owner}")
            };
            return Err(StoreError::InUse(format!(
                "the data directory {} is in use by {who} (lock file {}); stop it or choose \
                 another --data-dir",
                data_dir.display(),
                path.display()
            )));
        }
        Err(TryLockError::Error(e)) => {
            return Err(StoreError::Backend(format!(
                "cannot lock {}: {e}",
                path.display()
            )));
        }
    }
    let written = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| write!(file, "{}", std::process::id()))
        .and_then(|()| file.flush());
    written.map_err(|e| StoreError::Backend(format!("cannot write {}: {e}", path.display())))?;
    Ok(file)
}

pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: every commit fsyncs the WAL, so an acknowledged write survives power loss.
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .statement_cache_capacity(256)
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir` and applies migrations; refused
    /// with [`StoreError::InUse`] while another process (or store) has the directory open.
    pub async fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(data_dir, options(&data_dir.join(DB_FILE))).await
    }

    /// As [`SqliteStore::open`], with every file access going through the SQLite VFS
    /// registered under `vfs`: durability tests run the store on one that simulates a power
    /// cut.
    pub async fn open_on_vfs(data_dir: &Path, vfs: &'static str) -> Result<Self, StoreError> {
        Self::open_with(data_dir, options(&data_dir.join(DB_FILE)).vfs(vfs)).await
    }

    async fn open_with(data_dir: &Path, opts: SqliteConnectOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!("cannot create {}: {e}", data_dir.display()))
        })?;
        let lock = Arc::new(lock(data_dir)?);
        // The writer connects first: it creates the file and applies the migrations.
        let writer = Writer::start(opts.clone(), &MIGRATOR).await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(opts.read_only(true))
            .await
            .map_err(backend)?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM webhooks)")
            .fetch_one(&pool)
            .await
            .map_err(backend)?;
        let hooks = Arc::new(AtomicBool::new(any));
        let intake = Batcher::start(place_in(writer.clone(), hooks.clone()), BATCHES_IN_FLIGHT);
        Ok(Self {
            pool,
            writer,
            intake,
            hooks,
            _lock: lock,
        })
    }
}

/// Order placement through the writer: one job per batch.
fn place_in(writer: Writer, hooks: Arc<AtomicBool>) -> rendan_store::batch::Submit {
    Arc::new(move |cmds: Arc<Vec<PlaceOrder>>| {
        let writer = writer.clone();
        let hooks = hooks.clone();
        Box::pin(async move {
            writer
                .write(move |conn| {
                    let cmds = cmds.clone();
                    let hooks = hooks.clone();
                    Box::pin(async move {
                        let mut tx = SqliteTx::new(conn, hooks);
                        script::place_orders(&mut tx, &cmds)
                            .await
                            .map_err(Fail::into_store)
                    })
                })
                .await
        })
    })
}

/// Runs a transaction script as one job of the writer: `$body` gets `tx` (the writer's
/// transaction) and the clones of `$arg`s it may take by reference, once per run.
macro_rules! script {
    ($store:expr, ($($arg:ident),*), |$tx:ident| $body:expr) => {{
        let hooks = $store.hooks.clone();
        $store
            .writer
            .write(move |conn| {
                $(let $arg = $arg.clone();)*
                let hooks = hooks.clone();
                Box::pin(async move {
                    let mut tx = SqliteTx::new(conn, hooks);
                    let $tx: &mut SqliteTx<'_> = &mut tx;
                    $body.await.map_err(Fail::into_store)
                })
            })
            .await
    }};
}

#[async_trait]
impl Store for SqliteStore {
    async fn save_topology(&self, topology: &Topology) -> Result<(), StoreError> {
        let topology = topology.clone();
        script!(self, (topology), |tx| async {
            rendan_store::tx::Tx::save_topology(tx, &topology).await
        })
    }

    async fn place_order(&self, cmd: PlaceOrder) -> Result<Placed, StoreError> {
        self.intake.place(cmd).await
    }

    async fn order(&self, id: i64) -> Result<Option<Order>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::order(&mut conn, id).await
    }

    async fn orders(&self, query: &OrderQuery) -> Result<Page<Order>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::orders(&mut conn, query).await
    }

    async fn cancel_order(&self, cmd: CancelOrder) -> Result<Outcome<Order>, StoreError> {
        script!(self, (cmd), |tx| script::cancel_order(tx, &cmd))
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
        script!(self, (site, sku, document, idem), |tx| {
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
        script!(self, (receipts, document), |tx| {
            script::seed_stock(tx, &receipts, &document, now)
        })
    }

    async fn stock(&self, query: &StockQuery) -> Result<Vec<StockRow>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::stock(&mut conn, query).await
    }

    async fn movements(&self, after: i64, limit: u32) -> Result<Vec<Movement>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::movements(&mut conn, after, limit).await
    }

    async fn production_orders_of(
        &self,
        orders: &[i64],
    ) -> Result<Vec<ProductionOrder>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::productions_of(&mut conn, orders).await
    }

    async fn production_orders(
        &self,
        query: &ProductionQuery,
    ) -> Result<Page<ProductionOrder>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::production_orders(&mut conn, query).await
    }

    async fn complete_production(
        &self,
        cmd: CompleteProduction,
    ) -> Result<Outcome<(ProductionOrder, Order)>, StoreError> {
        script!(self, (cmd), |tx| script::complete_production(tx, &cmd))
    }

    async fn create_token(
        &self,
        token: NewTokenRecord,
        idem: Option<Idem>,
    ) -> Result<Outcome<TokenInfo>, StoreError> {
        script!(self, (token, idem), |tx| {
            script::create_token(tx, &token, idem.as_ref())
        })
    }

    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<TokenInfo, StoreError> {
        script!(self, (), |tx| script::revoke_token(tx, id, now))
    }

    async fn tokens(&self) -> Result<Vec<TokenInfo>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::tokens(&mut conn).await
    }

    async fn principal(&self, hash: &[u8]) -> Result<Option<Principal>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::principal(&mut conn, hash).await
    }

    async fn has_admin(&self) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::has_admin(&mut conn).await
    }

    async fn order_counts(&self) -> Result<Vec<(OrderStatus, i64)>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::order_counts(&mut conn).await
    }

    async fn create_crew(
        &self,
        depot: SiteId,
        crew: rendan_domain::crew::NewCrew,
        now: Timestamp,
        idem: Option<Idem>,
    ) -> Result<Outcome<rendan_domain::crew::Crew>, StoreError> {
        script!(self, (depot, crew, idem), |tx| {
            script::create_crew(tx, &depot, &crew, now, idem.as_ref())
        })
    }

    async fn crews(
        &self,
        depot: Option<&SiteId>,
    ) -> Result<Vec<rendan_domain::crew::Crew>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::crews(&mut conn, depot).await
    }

    async fn depot_day(
        &self,
        depot: &SiteId,
        date: jiff::civil::Date,
    ) -> Result<rendan_store::DepotDay, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let head = reads::day_head(&mut conn, depot, date).await?;
        let rows = reads::day_visits(&mut conn, depot, date).await?;
        let visits = reads::visits_on(&mut conn, depot, date, date).await?;
        script::assemble_day(depot, date, head, rows, visits)
    }

    async fn depot_days(
        &self,
        depot: &SiteId,
        from: jiff::civil::Date,
        days: u32,
    ) -> Result<Vec<rendan_store::DepotDay>, StoreError> {
        let to = from.saturating_add(jiff::Span::new().days(i64::from(days.max(1)) - 1));
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let heads = reads::heads_between(&mut conn, depot, from, to).await?;
        let rows = reads::visits_between(&mut conn, depot, from, to).await?;
        let visits = reads::visits_on(&mut conn, depot, from, to).await?;
        script::assemble_days(depot, from, days, heads, rows, visits)
    }

    async fn appointment(
        &self,
        order: i64,
    ) -> Result<Option<rendan_domain::appointment::Appointment>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        Ok(reads::appointment_of(&mut conn, order)
            .await?
            .map(|(a, _)| a))
    }

    async fn book_visit(
        &self,
        cmd: rendan_store::BookVisit,
    ) -> Result<Outcome<rendan_domain::appointment::Appointment>, StoreError> {
        script!(self, (cmd), |tx| script::book_visit(tx, &cmd))
    }

    async fn unbook_visit(
        &self,
        cmd: rendan_store::UnbookVisit,
    ) -> Result<Outcome<Order>, StoreError> {
        script!(self, (cmd), |tx| script::unbook_visit(tx, &cmd))
    }

    async fn set_routes(
        &self,
        cmd: rendan_store::SetRoutes,
    ) -> Result<rendan_store::Outcome<rendan_store::DepotDay>, StoreError> {
        script!(self, (cmd), |tx| script::set_routes(tx, &cmd))
    }

    async fn publish_day(
        &self,
        cmd: rendan_store::PublishDay,
    ) -> Result<rendan_store::Outcome<rendan_store::DepotDay>, StoreError> {
        script!(self, (cmd), |tx| script::publish_day(tx, &cmd))
    }

    async fn record_stop(
        &self,
        cmd: rendan_store::RecordStop,
    ) -> Result<Outcome<rendan_store::StopRecord>, StoreError> {
        script!(self, (cmd), |tx| script::record_stop(tx, &cmd))
    }

    async fn create_webhook(
        &self,
        cmd: rendan_store::CreateWebhook,
    ) -> Result<Outcome<rendan_domain::webhook::Webhook>, StoreError> {
        script!(self, (cmd), |tx| script::create_webhook(tx, &cmd))
    }

    async fn webhooks(
        &self,
        channel: Option<i64>,
    ) -> Result<Vec<rendan_domain::webhook::Webhook>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::webhooks(&mut conn, channel, None).await
    }

    async fn due_deliveries(
        &self,
        now: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<rendan_store::DueDelivery>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::due_deliveries(&mut conn, now.as_microsecond(), limit).await
    }

    async fn record_attempt(
        &self,
        attempt: rendan_store::DeliveryAttempt,
    ) -> Result<(), StoreError> {
        script!(self, (attempt), |tx| script::record_attempt(tx, &attempt))
    }

    async fn delivery_attempts(
        &self,
        webhook: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, rendan_store::DeliveryAttempt)>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::delivery_attempts(&mut conn, webhook, after, limit).await
    }

    async fn attempts(&self, order: i64) -> Result<Vec<rendan_domain::stop::Attempt>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::attempts_of(&mut conn, order).await
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
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let (attempts, events) = reads::visit_log(&mut conn, from, to).await?;
        Ok(rendan_store::pair_visits(attempts, events))
    }

    async fn stop_events(
        &self,
        order: i64,
    ) -> Result<Vec<rendan_domain::stop::Reported>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        reads::stop_events_of(&mut conn, order, None).await
    }

    async fn seen_key(
        &self,
        operation: &'static str,
        idem: rendan_store::Idem,
    ) -> Result<bool, StoreError> {
        script!(self, (idem), |tx| script::seen_key(tx, operation, &idem))
    }
}
