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
mod writer;
mod writes;

use async_trait::async_trait;
use error::{Fail, backend};
use futures_util::future::BoxFuture;
use jiff::Timestamp;
use rendan_domain::access::{Principal, Visibility};
use rendan_domain::catalogue::Sku;
use rendan_domain::order::{Order, OrderStatus};
use rendan_domain::topology::Topology;
use rendan_domain::{Region, SiteId};
use rendan_store::{
    Idem, Movement, NewTokenRecord, OrderQuery, Outcome, Page, PlaceOrder, Placed, ProductionOrder,
    ProductionQuery, StockQuery, StockRow, Store, StoreError, TokenInfo,
};
use sqlx::PgConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

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
        Ok(Self { pool, writer })
    }

    /// Runs `body` in the writer's next group (see [`writer`]) and answers once it is
    /// committed; `body` runs again from its savepoint each time it loses a race.
    async fn write<T, F>(&self, body: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnMut(&'c mut PgConnection) -> BoxFuture<'c, Result<T, Fail>> + Send + 'static,
    {
        self.writer.write(body).await
    }

    /// A pooled connection for a read.
    async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Postgres>, StoreError> {
        self.pool.acquire().await.map_err(backend)
    }
}

#[async_trait]
impl Store for PgStore {
    async fn save_topology(&self, topology: &Topology) -> Result<(), StoreError> {
        let topology = topology.clone();
        self.write(move |conn| {
            let topology = topology.clone();
            Box::pin(async move { writes::save_topology(conn, &topology).await })
        })
        .await
    }

    async fn place_order(&self, cmd: PlaceOrder) -> Result<Placed, StoreError> {
        self.write(move |conn| Box::pin(writes::place_order(conn, cmd.clone())))
            .await
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

    async fn cancel_order(
        &self,
        id: i64,
        visibility: &Visibility,
        now: Timestamp,
        idem: Option<Idem>,
    ) -> Result<Outcome<Order>, StoreError> {
        let visibility = visibility.clone();
        self.write(move |conn| {
            let (visibility, idem) = (visibility.clone(), idem.clone());
            Box::pin(async move { writes::cancel_order(conn, id, &visibility, now, idem).await })
        })
        .await
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
        self.write(move |conn| {
            let (site, sku, document) = (site.clone(), sku.clone(), document.clone());
            let idem = idem.clone();
            Box::pin(async move {
                writes::receive_stock(conn, &site, &sku, qty, &document, now, idem).await
            })
        })
        .await
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
        id: i64,
        region: Option<&Region>,
        now: Timestamp,
        idem: Option<Idem>,
    ) -> Result<Outcome<(ProductionOrder, Order)>, StoreError> {
        let region = region.cloned();
        self.write(move |conn| {
            let (region, idem) = (region.clone(), idem.clone());
            Box::pin(async move {
                writes::complete_production(conn, id, region.as_ref(), now, idem).await
            })
        })
        .await
    }

    async fn create_token(
        &self,
        token: NewTokenRecord,
        idem: Option<Idem>,
    ) -> Result<Outcome<TokenInfo>, StoreError> {
        self.write(move |conn| Box::pin(writes::create_token(conn, token.clone(), idem.clone())))
            .await
    }

    async fn revoke_token(&self, id: i64, now: Timestamp) -> Result<TokenInfo, StoreError> {
        self.write(move |conn| Box::pin(writes::revoke_token(conn, id, now)))
            .await
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
}
