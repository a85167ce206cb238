//! rendan's application layer: every use-case, from a domain command to a domain result.
//!
//! [`UseCases`] holds the store, the topology, the promise rules and the clock. Each method
//! is one use-case (place an order, cancel it, receive stock, complete production, create a
//! token, and the reads that go with them): it checks the caller's rights with
//! [`rendan_domain::access`], asks the domain for every decision that needs no stored data,
//! and hands the rest to one [`Store`] transaction, which calls the domain again with what it
//! read. The HTTP handlers, the CSV importer, the CLI and the benchmark only translate their
//! input into the domain commands these methods take.

pub mod delivery;
mod fingerprint;
pub mod service;
pub mod stops;
pub mod tokens;
pub mod webhooks;

use fingerprint::Fingerprint;
use jiff::Timestamp;
use rendan_domain::access::{Principal, PrincipalName, Role};
use rendan_domain::catalogue::Sku;
use rendan_domain::fulfilment::{self, PromiseRules};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{NewOrder, Order};
use rendan_domain::production::ProductionOrder;
use rendan_domain::stock::Receipt;
use rendan_domain::topology::Topology;
use rendan_domain::{Invalid, Invalids, Region, SiteId, SiteKind};
use rendan_store::{
    CancelOrder, CompleteProduction, Idem, NewTokenRecord, OrderQuery, Outcome, Page, PlaceOrder,
    Placed, Planning, ProductionQuery, StockQuery, StockRow, Store, StoreError, TokenInfo,
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

impl Error {
    /// A refusal the rules make (bad or out-of-rule input, a window that cannot be kept, a
    /// state that forbids it, something absent, no stock, a closed production order), as
    /// opposed to a failure of the platform: a client acting for many (the demo, the
    /// simulation) skips the one and stops on the other.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            Error::Invalid(_)
                | Error::Store(
                    StoreError::Refused(_)
                        | StoreError::Transition(_)
                        | StoreError::NotFound(_)
                        | StoreError::Stock(_)
                        | StoreError::ProductionClosed { .. }
                )
        )
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Self {
        Error::Invalid(e.into())
    }
}

pub(crate) fn idem(caller: &Principal, key: &Key, fingerprint: Vec<u8>) -> Idem {
    Idem {
        principal: caller.id,
        key: key.as_str().to_string(),
        fingerprint,
    }
}

fn no_randomness(e: getrandom::Error) -> Error {
    StoreError::Backend(format!("no randomness for a token: {e}")).into()
}

/// A fresh principal name such as `channel-3f9a0c12`, for a token asked without one.
fn generated_name(role: &Role) -> Result<PrincipalName, Error> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(no_randomness)?;
    Ok(PrincipalName::parse(
        &format!("{}-{}", role.name(), hex::encode(bytes)),
        "principal",
    )?)
}

pub(crate) fn forbidden(message: impl Into<String>) -> Error {
    Error::Forbidden {
        message: message.into(),
        field: None,
    }
}

/// The current instant, injected so tests fix "now".
pub type Clock = Box<dyn Fn() -> Timestamp + Send + Sync>;

/// A token just created: the secret is shown once, so a replay of the creation has none.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// The secret (only its hash is stored); `None` when answering a retry.
    pub secret: Option<String>,
    /// The stored token.
    pub info: TokenInfo,
}

/// The use-cases over one store and one topology.
#[derive(Clone)]
pub struct UseCases {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    topology: Arc<Topology>,
    rules: PromiseRules,
    clock: Clock,
    dispatch: Arc<rendan_dispatch::Dispatch>,
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
        let topology = Arc::new(topology);
        let dispatch = Arc::new(rendan_dispatch::Dispatch::new(topology.clone(), rules));
        Self {
            inner: Arc::new(Inner {
                store,
                topology,
                rules,
                clock,
                dispatch,
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

    /// What re-planning a factory's queue needs.
    fn planning(&self) -> Planning {
        Planning {
            topology: self.inner.topology.clone(),
            rules: self.inner.rules,
        }
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
            idem: idem(caller, &key, fingerprint::order(&order)),
            token_id: caller.token_id,
            order,
            options,
            rules: *self.rules(),
            now,
        })
    }

    /// A region of the topology, parsed from a filter value (unknown regions are refused,
    /// rather than answered with an empty list).
    pub fn region(&self, value: &str, field: &str) -> Result<Region, Invalid> {
        let region = Region::parse(value, field)?;
        if self.topology().regions().contains(&region) {
            Ok(region)
        } else {
            Err(Invalid::new(
                field,
                format!("no node of the topology is in region {region}"),
            ))
        }
    }

    /// A factory of the topology, parsed from a filter value.
    pub fn factory(&self, value: &str, field: &str) -> Result<SiteId, Invalid> {
        let id = SiteId::parse(value, field)?;
        match self.topology().site(&id) {
            Some(s) if s.kind == SiteKind::Factory => Ok(id),
            Some(s) => Err(Invalid::new(
                field,
                format!("{id} is a {}, not a factory", s.kind.as_str()),
            )),
            None => Err(Invalid::new(field, format!("unknown site {id}"))),
        }
    }

    /// Checks an order against the topology (known SKUs, a warehouse serving the customer)
    /// without placing it, naming every field at fault.
    pub fn check_order(&self, order: &NewOrder) -> Result<(), Error> {
        fulfilment::options(self.topology(), self.rules(), order)?;
        Ok(())
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
    /// cancelling its open production orders. A retry with the same key answers the same.
    pub async fn cancel_order(
        &self,
        caller: &Principal,
        key: Key,
        id: i64,
    ) -> Result<Outcome<Order>, Error> {
        if !caller.can_change_orders() {
            return Err(forbidden("this role cannot cancel orders"));
        }
        let mut f = Fingerprint::new("cancel_order");
        f.int(id);
        let cmd = CancelOrder {
            id,
            visibility: caller.order_visibility(),
            now: self.now(),
            idem: Some(idem(caller, &key, f.finish())),
            planning: self.planning(),
        };
        Ok(self.inner.store.cancel_order(cmd).await?)
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

    /// Receives goods into a warehouse of the caller's region. A retry with the same key
    /// answers the balance the first receipt produced and receives nothing.
    pub async fn receive_stock(
        &self,
        caller: &Principal,
        key: Key,
        receipt: Receipt,
    ) -> Result<Outcome<StockRow>, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden("channel tokens cannot change stock"));
        }
        self.check_site_scope(caller, &receipt.site.id, "site")?;
        let mut f = Fingerprint::new("receive_stock");
        f.text(receipt.site.id.as_str())
            .text(receipt.sku.as_str())
            .int(receipt.qty)
            .text(receipt.reference.as_deref().unwrap_or(""))
            .int(i64::from(receipt.reference.is_some()));
        Ok(self
            .inner
            .store
            .receive_stock(
                &receipt.site.id,
                &receipt.sku,
                receipt.qty,
                &receipt.document(),
                self.now(),
                Some(idem(caller, &key, f.finish())),
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
    /// destination and reserved for the order, which becomes ready when nothing else is open;
    /// the factory's queue is planned again from today and the orders in it re-promised.
    pub async fn complete_production(
        &self,
        caller: &Principal,
        key: Key,
        id: i64,
    ) -> Result<Outcome<(ProductionOrder, Order)>, Error> {
        if !caller.can_read_stock() {
            return Err(forbidden(
                "channel tokens cannot complete production orders",
            ));
        }
        let mut f = Fingerprint::new("complete_production");
        f.int(id);
        let cmd = CompleteProduction {
            id,
            region: caller.role.region().cloned(),
            now: self.now(),
            idem: Some(idem(caller, &key, f.finish())),
            planning: self.planning(),
        };
        Ok(self.inner.store.complete_production(cmd).await?)
    }

    /// Creates a token with `role` for the principal `name` (created on first use; a new
    /// principal with a generated name when `None`). `caller` is `None` for the local
    /// operator (the CLI, the first admin); over the API only admins may create tokens, and
    /// with a key, whose retry answers the same token without its secret.
    pub async fn create_token(
        &self,
        caller: Option<&Principal>,
        key: Option<Key>,
        name: Option<PrincipalName>,
        role: Role,
        label: &str,
    ) -> Result<Outcome<NewToken>, Error> {
        if caller.is_some_and(|c| !c.can_manage_tokens()) {
            return Err(forbidden("only admin tokens may create tokens"));
        }
        if let Some(r) = role.region()
            && !self.topology().regions().contains(r)
        {
            return Err(Invalid::new("region", format!("no node is in region {r}")).into());
        }
        let mut f = Fingerprint::new("create_token");
        f.text(name.as_ref().map_or("", PrincipalName::as_str))
            .text(role.name())
            .text(role.region().map_or("", Region::as_str));
        let idem = match (caller, &key) {
            (Some(c), Some(k)) => Some(idem(c, k, f.finish())),
            _ => None,
        };
        let secret = tokens::generate().map_err(no_randomness)?;
        let principal = match name {
            Some(n) => n,
            None => generated_name(&role)?,
        };
        let record = NewTokenRecord {
            hash: tokens::hash(&secret),
            principal,
            role,
            label: label.to_string(),
            now: self.now(),
        };
        let outcome = self.inner.store.create_token(record, idem).await?;
        Ok(match outcome {
            Outcome::Created(info) => Outcome::Created(NewToken {
                secret: Some(secret),
                info,
            }),
            Outcome::Replayed(info) => Outcome::Replayed(NewToken { secret: None, info }),
        })
    }

    /// Revokes a token (admins only); the principal keeps its orders and other tokens.
    pub async fn revoke_token(
        &self,
        caller: Option<&Principal>,
        id: i64,
    ) -> Result<TokenInfo, Error> {
        if caller.is_some_and(|c| !c.can_manage_tokens()) {
            return Err(forbidden("only admin tokens may revoke tokens"));
        }
        Ok(self.inner.store.revoke_token(id, self.now()).await?)
    }

    /// Every token, without secrets (admins only).
    pub async fn tokens(&self, caller: Option<&Principal>) -> Result<Vec<TokenInfo>, Error> {
        if caller.is_some_and(|c| !c.can_manage_tokens()) {
            return Err(forbidden("only admin tokens may list tokens"));
        }
        Ok(self.inner.store.tokens().await?)
    }

    /// The principal behind a token, if the token is known.
    pub async fn principal(&self, token: &str) -> Result<Option<Principal>, Error> {
        Ok(self.inner.store.principal(&tokens::hash(token)).await?)
    }
}
