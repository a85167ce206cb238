//! Opening the platform's parts (topology, store, tokens) and the commands built on them.

use crate::Place;
use anyhow::{Context, Result, bail};
use rendan_api::AppState;
use rendan_domain::access::{PrincipalName, Role};
use rendan_store::{NewTokenRecord, Store};
use rendan_store_postgres::{PgStore, is_postgres_url};
use rendan_store_sqlite::SqliteStore;
use rendan_topology::TopologyFile;
use rendan_usecases::{UseCases, tokens};
use std::net::SocketAddr;
use std::sync::Arc;

/// The loaded topology and the opened store, with the topology saved into it.
pub struct Platform {
    /// Topology file contents.
    pub file: TopologyFile,
    /// The store (SQLite or PostgreSQL).
    pub store: Arc<dyn Store>,
}

impl Platform {
    /// The use-cases over this store and topology.
    pub fn cases(&self) -> UseCases {
        UseCases::new(
            self.store.clone(),
            self.file.topology.clone(),
            self.file.promise,
        )
    }
}

/// Opens the store `place` names: PostgreSQL at `--database`, else SQLite in `--data-dir`.
pub async fn open_store(place: &Place) -> Result<Arc<dyn Store>> {
    match place.database.as_deref().map(str::trim) {
        Some(url) if !url.is_empty() => {
            if !is_postgres_url(url) {
                bail!("--database must be a postgres:// URL (SQLite lives in --data-dir)");
            }
            let store = PgStore::connect(url)
                .await
                .context("connecting to the PostgreSQL database")?;
            Ok(Arc::new(store))
        }
        _ => {
            let store = SqliteStore::open(&place.data_dir)
                .await
                .with_context(|| format!("opening the database in {}", place.data_dir.display()))?;
            Ok(Arc::new(store))
        }
    }
}

/// Loads the topology and opens the store, saving the topology into it.
pub async fn open(place: &Place) -> Result<Platform> {
    let file = rendan_topology::load(place.config.as_deref())?;
    let store = open_store(place).await?;
    store
        .save_topology(&file.topology)
        .await
        .context("saving the topology")?;
    Ok(Platform { file, store })
}

/// The principal that owns the admin tokens `serve` creates on its own.
const ADMIN: &str = "admin";

/// Makes sure an admin token exists: `RENDAN_ADMIN_TOKEN` if set, else a new one printed once.
async fn bootstrap_admin(platform: &Platform) -> Result<()> {
    let store = platform.store.as_ref();
    let admin = PrincipalName::parse(ADMIN, "principal")?;
    match std::env::var("RENDAN_ADMIN_TOKEN") {
        Ok(token) if !token.trim().is_empty() => {
            let hash = tokens::hash(token.trim());
            match store.principal(&hash).await? {
                Some(p) if p.role == Role::Admin => {}
                Some(_) => bail!("RENDAN_ADMIN_TOKEN is already a token with another role"),
                None => {
                    let token = NewTokenRecord {
                        hash: hash.clone(),
                        principal: admin,
                        role: Role::Admin,
                        label: "RENDAN_ADMIN_TOKEN".into(),
                        now: jiff::Timestamp::now(),
                    };
                    // Processes sharing a database may start together: when another one
                    // stored the same token first, its admin token is the one wanted.
                    if let Err(e) = store.create_token(token, None).await
                        && !store
                            .principal(&hash)
                            .await?
                            .is_some_and(|p| p.role == Role::Admin)
                    {
                        return Err(e.into());
                    }
                }
            }
        }
        _ => {
            if !store.has_admin().await? {
                let token = platform
                    .cases()
                    .create_token(None, None, Some(admin), Role::Admin, "first admin")
                    .await?
                    .into_inner();
                let secret = token.secret.context("a new token without its secret")?;
                println!("admin token (shown once, keep it): {secret}");
            }
        }
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// `rendan serve`.
pub async fn serve(
    listen: SocketAddr,
    place: &Place,
    demo: bool,
    netwatch: bool,
    webhooks: rendan_webhooks::Settings,
) -> Result<()> {
    let platform = open(place).await?;
    bootstrap_admin(&platform).await?;
    let cases = platform.cases();
    if demo {
        crate::demo::seed(platform.store.as_ref(), &platform.file.topology).await?;
        crate::demo::seed_delivery(&cases).await?;
    }
    // Published plans whose day has come send their orders out for delivery.
    let ticking = cases.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            if let Err(e) = ticking.start_due_days(1).await {
                tracing::warn!(error = %e, "cannot start the day's published plans");
            }
        }
    });
    // Channels are told of their orders' changes from the outbox, also after a restart.
    let deliverer = rendan_webhooks::Deliverer::new(
        platform.store.clone(),
        webhooks,
        std::sync::Arc::new(jiff::Timestamp::now),
    );
    let (stop_webhooks, stopped) = tokio::sync::oneshot::channel::<()>();
    let delivering = tokio::spawn(deliverer.run(async move {
        let _ = stopped.await;
    }));
    rendan_api::install_metrics();
    let service = if netwatch {
        Some(crate::netwatch_cmd::start(&platform.file, &place.data_dir, None, None).await?)
    } else {
        None
    };
    let state = match &service {
        Some(m) => AppState::with_network(cases, m.netwatch()),
        None => AppState::new(cases),
    };
    let monitor = service;
    let router = rendan_api::app(state);
    run_http(listen, router, &place.data_dir).await?;
    let _ = stop_webhooks.send(());
    let _ = delivering.await;
    if let Some(m) = monitor {
        m.shutdown().await;
    }
    Ok(())
}

/// Binds, announces the address and serves until Ctrl-C or SIGTERM.
async fn run_http(
    listen: SocketAddr,
    router: axum::Router,
    data_dir: &std::path::Path,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, data_dir = %data_dir.display(), "rendan is serving");
    // Tests and scripts read this line to find a random port.
    eprintln!("listening on http://{local}");
    rendan_api::serve(listener, router, shutdown_signal()).await?;
    Ok(())
}

/// `rendan netwatch`: the monitor with the platform's API and tokens, without the demo data,
/// the minute tick or the webhook deliverer.
pub async fn netwatch(args: &crate::netwatch_cmd::NetwatchArgs) -> Result<()> {
    let place = Place {
        data_dir: args.data_dir.clone(),
        config: args.config.clone(),
        database: args.database.clone(),
    };
    let platform = open(&place).await?;
    bootstrap_admin(&platform).await?;
    rendan_api::install_metrics();
    let monitor = crate::netwatch_cmd::run_netwatch(args).await?;
    let state = AppState::with_network(platform.cases(), monitor.netwatch());
    run_http(args.listen, rendan_api::app(state), &args.data_dir).await?;
    monitor.shutdown().await;
    Ok(())
}

/// `rendan check-ledger`: exit status 1 when the journal and balances disagree.
pub async fn check_ledger(place: &Place) -> Result<()> {
    let platform = open(place).await?;
    let report = rendan_store::ledger::check(platform.store.as_ref()).await?;
    println!(
        "replayed {} movements, compared {} balances: {}",
        report.movements,
        report.balances,
        if report.discrepancies.is_empty() {
            "ledger is consistent"
        } else {
            "DISCREPANCIES"
        }
    );
    for d in &report.discrepancies {
        println!("  {d:?}");
    }
    let misplaced = rendan_store::ledger::check_queues(
        platform.store.as_ref(),
        platform.file.topology.capacities(),
    )
    .await?;
    println!(
        "planned the factories' queues again: {}",
        if misplaced.is_empty() {
            "every production order is where its queue puts it"
        } else {
            "MISPLACED PRODUCTION ORDERS"
        }
    );
    for m in &misplaced {
        println!(
            "  production order {}: stored ready date {}, its queue finishes it on {}",
            m.production_order, m.stored, m.planned
        );
    }
    if !report.discrepancies.is_empty() {
        bail!(
            "{} discrepancies between journal and balances",
            report.discrepancies.len()
        );
    }
    if !misplaced.is_empty() {
        bail!(
            "{} production orders not where their queues put them",
            misplaced.len()
        );
    }
    Ok(())
}

/// `rendan token create`: prints the token alone on stdout.
pub async fn create_token(
    principal: Option<&str>,
    role: &str,
    region: Option<&str>,
    crew: Option<i64>,
    place: &Place,
) -> Result<()> {
    let platform = open(place).await?;
    let role = Role::parse(role, region, crew)?;
    let name = principal
        .map(|p| PrincipalName::parse(p, "--principal"))
        .transpose()?;
    let token = platform
        .cases()
        .create_token(None, None, name, role, "cli")
        .await?
        .into_inner();
    println!(
        "{}",
        token.secret.context("a new token without its secret")?
    );
    Ok(())
}

/// `rendan token revoke ID`.
pub async fn revoke_token(id: i64, place: &Place) -> Result<()> {
    let platform = open(place).await?;
    let info = platform.cases().revoke_token(None, id).await?;
    println!("revoked token {} of principal {}", info.id, info.principal);
    Ok(())
}

/// `rendan token list`: one token a line, tab-separated.
pub async fn list_tokens(place: &Place) -> Result<()> {
    let platform = open(place).await?;
    println!("id\tprincipal\trole\tregion\tlabel\tcreated_at\trevoked_at");
    for t in platform.cases().tokens(None).await? {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            t.id,
            t.principal,
            t.role.name(),
            t.role.region().map_or("-", |r| r.as_str()),
            t.label,
            t.created_at,
            t.revoked_at.map_or("-".to_string(), |r| r.to_string())
        );
    }
    Ok(())
}
