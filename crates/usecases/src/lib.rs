//! rendan's application layer: every use-case, from a domain command to a domain result.
//!
//! [`UseCases`] holds the store, the topology, the promise rules and the clock. Each method
//! is one use-case (place an order, cancel it, receive stock, complete production, create a
//! token, and the reads that go with them): it checks the caller's rights with
//! [`rendan_domain::access`], asks the domain for every decision that needs no stored data,
//! and hands the rest to one [`Store`] transaction, which calls the domain again with what it
//! read. The HTTP handlers, the CSV importer, the CLI and the benchmark only translate their
//! input into the domain commands these methods take.

mod fingerprint;
pub mod tokens;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use rendan_domain::access::{Principal, Role};
use rendan_domain::catalogue::Sku;
use rendan_domain::fulfilment::{self, PromiseRules};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{NewOrder, Order};
use rendan_domain::production::ProductionOrder;
use rendan_domain::stock::Receipt;
use rendan_domain::topology::Topology;
use rendan_domain::{Invalid, Invalids, SiteId};
use rendan_store::{
    OrderQuery, Page, PlaceOrder, Placed, ProductionQuery, StockQuery, StockRow, Store, StoreError,
};
use std::sync::Arc;

/// Why a use-case refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// The command breaks rules; every field at fault is named.
    #[error(transparent)]
    Invalid(#[from] Invalids),
    /// The caller's role or scope does not allow this.
    #[error("{message}")]
    Forbidden {
        /// Why, in words.
        message: String,
        /// The field whose value the caller may not use, if one.
        field: Option<String>,
    },
    /// What the store answered (not found, conflicts, backend failures).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::Invalid(e.into())
    }
}

fn forbidden(message: impl Into<String>) -> Error {
    Error::Forbidden {
        message: message.into(),
        field: None,
    }
}

/// The current instant, injected so tests fix "now".
pub type Clock = Box<dyn Fn() -> Timestamp + Send + Sync>;

/// A token just created: the secret is shown once.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The secret; only its hash is stored.
    pub secret: String,
    /// Its id.
    pub id: i64,
    /// Its role.
    pub role: Role,
}

/// The use-cases over one store and one topology.
#[derive(Clone)]
pub struct UseCases {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    topology: Topology,
    rules: PromiseRules,
    clock: Clock,
}

impl UseCases {
    /// Use-cases over `store` and the loaded topology, with the system clock.
    pub fn new(store: Arc<dyn Store>, topology: Topology, rules: PromiseRules) -> Self {
        Self::with_clock(store, topology, rules, Box::new(Timestamp::now))
    }

    /// As [`UseCases::new`] with an injected clock.
    pub fn with_clock(
        store: Arc<dyn Store>,
        topology: Topology,
        rules: PromiseRules,
        clock: Clock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                topology,
                rules,
                clock,
            }),
        }
    }

    /// The store (for reads outside the use-cases, such as the ledger audit).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The topology.
    pub fn topology(&self) -> &Topology {
        &self.inner.topology
    }

    /// The promise rules.
    pub fn rules(&self) -> &PromiseRules {
        &self.inner.rules
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        (self.inner.clock)()
    }

    /// The store transaction that places `order` for `caller`: fulfilment options from the
    /// topology, the command's fingerprint, the acceptance instant and date. The benchmark
    /// builds its direct-to-store commands here too.
    pub fn order_command(
        &self,
        caller: &Principal,
        key: Key,
        order: NewOrder,
    ) -> Result<PlaceOrder, Error> {
        if !caller.can_create_orders() {
            return Err(forbidden("only admin and channel tokens may create orders"));
        }
        let options = fulfilment::options(self.topology(), self.rules(), &order)?;
        let now = self.now();
        Ok(PlaceOrder {
            token_id: caller.token_id,
            idempotency_key: key.as_str().to_string(),
            request_hash: fingerprint::order(&order),
            order,
            options,
            rules: *self.rules(),
            today: now.to_zoned(TimeZone::UTC).date(),
            now,
        })
    }

    /// Accepts an order: each line from free stock at a warehouse that serves the customer,
    /// else made to order. A retry with the same key and order answers the same order.
    pub async fn place_order(
        &self,
        caller: &Principal,
        key: Key,
        order: NewOrder,
    ) -> Result<Placed, Error> {
        let cmd = self.order_command(caller, key, order)?;
        Ok(self.inner.store.place_order(cmd).await?)
    }

    /// One order, if the caller may see it (else not found, so its existence stays hidden).
    pub async fn order(&self, caller: &Principal, id: i64) -> Result<Order, Error> {
        self.inner
            .store
            .order(id)
            .await?
            .filter(|o| caller.can_see_order(&o.region, o.created_by))
            .ok_or_else(|| StoreError::NotFound(format!("order {id}")).into())
    }

    /// A page of the orders the caller may see; `query.visibility` is replaced by the
    /// caller's. Asking for a region outside a scoped caller's is refused.
    pub async fn orders(
        &self,
        caller: &Principal,
        query: OrderQuery,
    ) -> Result<Page<Order>, Error> {
        if let (Some(scope), Some(asked)) = (caller.role.region(), &query.region)
            && scope != asked
        {
            return Err(Error::Forbidden {
                message: format!("this token is limited to region {scope}"),
                field: Some("region".into()),
            });
        }
        let query = OrderQuery {
            visibility: caller.order_visibility(),
            ..query
        };
        Ok(self.inner.store.orders(&query).await?)
    }

    /// Cancels an order the caller may see and change, releasing its reservations and
    /// cancelling its open production orders.
    pub async fn cancel_order(&self, caller: &Principal, id: i64) -> Result<Order, Error> {
        if !caller.can_change_orders() {
            return Err(forbidden("channel tokens cannot cancel orders"));
        }
        Ok(self
            .inner
            .store
            .cancel_order(id, &caller.order_visibility(), self.now())
            .await?)
    }

    fn check_site_scope(
        &self,
        caller: &Principal,
        site: &SiteId,
        field: &str,
    ) -> Result<(), Error> {
        let Some(s) = self.topology().site(site) else {
            return Err(Invalid::new(field, format!("unknown site {site}")).into());
        };
        if caller.can_manage_stock_in(&s.region) {
            Ok(())
        } else {
            Err(Error::Forbidden {
                message: format!("site {site} is outside this token's region"),
                field: Some(field.into()),
            })
        }
    }

    /// Receives goods into a warehouse of the caller's region.
    pub async fn receive_stock(
        &self,
        caller: &Principal,
        receipt: Receipt,
    ) -> Result<StockRow, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot change stock"));
        }
        self.check_site_scope(caller, &receipt.site.id, "site")?;
        Ok(self
            .inner
            .store
            .receive_stock(
                &receipt.site.id,
                &receipt.sku,
                receipt.qty,
                &receipt.document(),
                self.now(),
            )
            .await?)
    }

    /// Balances at the sites the caller may see, optionally of one site and one SKU.
    pub async fn stock(
        &self,
        caller: &Principal,
        site: Option<SiteId>,
        sku: Option<Sku>,
    ) -> Result<Vec<StockRow>, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot read stock"));
        }
        let mut errors = Vec::new();
        if let Some(site) = &site {
            match self.check_site_scope(caller, site, "site") {
                Ok(()) => {}
                Err(Error::Invalid(mut e)) => errors.append(&mut e.0),
                Err(other) => return Err(other),
            }
        }
        if let Some(sku) = &sku
            && self.topology().product(sku).is_none()
        {
            errors.push(Invalid::new("sku", format!("unknown SKU {sku}")));
        }
        if !errors.is_empty() {
            return Err(Invalids(errors).into());
        }
        let query = StockQuery {
            site,
            sku,
            region: caller.role.region().cloned(),
        };
        Ok(self.inner.store.stock(&query).await?)
    }

    /// A page of production orders destined for the caller's region.
    pub async fn production_orders(
        &self,
        caller: &Principal,
        query: ProductionQuery,
    ) -> Result<Page<ProductionOrder>, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot read production orders"));
        }
        let query = ProductionQuery {
            region: caller.role.region().cloned(),
            ..query
        };
        Ok(self.inner.store.production_orders(&query).await?)
    }

    /// Completes a production order of the caller's region: the goods are received into the
    /// destination and reserved for the order, which becomes ready when nothing else is open.
    pub async fn complete_production(
        &self,
        caller: &Principal,
        id: i64,
    ) -> Result<(ProductionOrder, Order), Error> {
        if !caller.can_read_stock() {
            return Err(forbidden(
                "channel tokens cannot complete production orders",
            ));
        }
        Ok(self
            .inner
            .store
            .complete_production(id, caller.role.region(), self.now())
            .await?)
    }

    /// Creates a token with `role`. `caller` is `None` for the local operator (the CLI, the
    /// first admin); over the API only admins may create tokens.
    pub async fn create_token(
        &self,
        caller: Option<&Principal>,
        role: Role,
        label: &str,
    ) -> Result<NewToken, Error> {
        if caller.is_some_and(|c| !c.can_manage_tokens()) {
            return Err(forbidden("only admin tokens may create tokens"));
        }
        if let Some(r) = role.region()
            && !self.topology().regions().contains(r)
        {
            return Err(Invalid::new("region", format!("no node is in region {r}")).into());
        }
        let secret = tokens::generate()
            .map_err(|e| StoreError::Backend(format!("no randomness for a token: {e}")))?;
        let id = self
            .inner
            .store
            .create_token(&tokens::hash(&secret), &role, label, self.now())
            .await?;
        Ok(NewToken { secret, id, role })
    }

    /// The principal behind a token, if the token is known.
    pub async fn principal(&self, token: &str) -> Result<Option<Principal>, Error> {
        Ok(self.inner.store.principal(&tokens::hash(token)).await?)
    }
}
