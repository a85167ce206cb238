//! `rendan bench orders`: orders per second through HTTP, and in the same run the same
//! fulfilment transactions issued straight to the store, with their ratios.
//!
//! Each round gets fresh databases (a scratch directory for SQLite, a scratch database on the
//! server for PostgreSQL). Customers are spread around Varese; the warehouse there holds stock
//! for half the orders, so the mix is half reservations, half production orders, on every path
//! alike. On SQLite the HTTP path is served in this process (one data directory admits one
//! process). On PostgreSQL it is served by one, then two `rendan serve` child processes
//! sharing the database, with the clients spread over them. Rounds run every path in turn so
//! machine noise hits all; medians are reported.

use anyhow::{Context, Result, bail};
use clap::Args;
use rendan_api::{AppState, CustomerBody, LineBody, OrderBody};
use rendan_domain::SiteId;
use rendan_domain::access::{PrincipalName, Role};
use rendan_domain::catalogue::Sku;
use rendan_domain::idempotency::Key;
use rendan_domain::order::{NewOrder, RawCustomer};
use rendan_store::{NewTokenRecord, Store};
use rendan_store_postgres::{PgStore, is_postgres_url, scratch};
use rendan_store_sqlite::SqliteStore;
use rendan_usecases::UseCases;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// Options of `rendan bench orders`.
#[derive(Args)]
pub struct OrdersArgs {
    /// Orders per round and path.
    #[arg(long, default_value_t = 20_000)]
    orders: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Rounds (each runs every path).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// PostgreSQL server to measure (`postgres://USER@HOST/DB`; each round creates and drops
    /// a database of its own there); SQLite in a scratch directory when absent.
    #[arg(long, env = "RENDAN_DATABASE_URL")]
    database: Option<String>,
}

const SKU: &str = "TV-LED-43";
const WAREHOUSE: &str = "wh-varese";

/// Customer `i` of a deterministic scatter within ~40 km of Varese: name, address, lat, lon.
fn customer(i: usize) -> (String, String, f64, f64) {
    let a = (i as f64) * 2.399_963;
    let r = 0.3 * ((i % 97) as f64 / 97.0);
    (
        format!("Customer {i}"),
        format!("Via Bench {i}, Varese"),
        45.82 + r * a.sin(),
        8.83 + r * a.cos(),
    )
}

const PHONE: &str = "+39 0332 000000";

/// Order `i` as an API client posts it.
fn body(i: usize) -> OrderBody {
    let (name, address, lat, lon) = customer(i);
    OrderBody {
        channel: "web".into(),
        external_ref: format!("bench-{i}"),
        customer: CustomerBody {
            name,
            phone: PHONE.into(),
            address,
            lat,
            lon,
        },
        lines: vec![LineBody {
            sku: SKU.into(),
            qty: 1,
        }],
        site_access: None,
    }
}

/// Order `i` as the domain command the API would make of [`body`].
fn order(i: usize) -> Result<NewOrder> {
    let (name, address, lat, lon) = customer(i);
    NewOrder::new(
        "web",
        &format!("bench-{i}"),
        RawCustomer {
            name: &name,
            phone: PHONE,
            address: &address,
            lat,
            lon,
        },
        &[(SKU, 1)],
    )
    .map_err(|e| anyhow::anyhow!("benchmark order {i}: {e}"))
}

/// Where a round's data lives, removed by [`Scratch::remove`].
enum Scratch {
    Dir(PathBuf),
    Database { admin: String, name: String },
}

impl Scratch {
    async fn remove(self) {
        match self {
            Scratch::Dir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Scratch::Database { admin, name } => {
                if let Err(e) = scratch::drop(&admin, &name).await {
                    tracing::warn!(error = %e, database = %name, "cannot drop the bench database");
                }
            }
        }
    }
}

/// A round's fresh store, with the stock and the token the orders need.
struct Round {
    scratch: Scratch,
    store: Arc<dyn Store>,
    cases: UseCases,
    /// The PostgreSQL URL of the round's database, for `rendan serve` children.
    url: Option<String>,
}

async fn prepare(args: &OrdersArgs, tag: &str) -> Result<Round> {
    let stock = (args.orders / 2) as i64;
    let (scratch, store, url): (Scratch, Arc<dyn Store>, Option<String>) = match &args.database {
        Some(admin) => {
            let name = format!("rendan_bench_{}_{tag}", std::process::id());
            let url = scratch::create(admin, &name).await?;
            let scratch = Scratch::Database {
                admin: admin.clone(),
                name,
            };
            let store = PgStore::connect(&url).await?;
            (scratch, Arc::new(store), Some(url))
        }
        None => {
            let dir =
                std::env::temp_dir().join(format!("rendan-bench-{}-{tag}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let store = SqliteStore::open(&dir).await?;
            (Scratch::Dir(dir), Arc::new(store), None)
        }
    };
    let file = rendan_topology::load(None)?;
    store.save_topology(&file.topology).await?;
    let now = jiff::Timestamp::now();
    let sku = Sku::parse(SKU, "sku")?;
    store
        .receive_stock(
            &SiteId::parse(WAREHOUSE, "site")?,
            &sku,
            stock,
            "bench",
            now,
            None,
        )
        .await?;
    let token = NewTokenRecord {
        hash: rendan_usecases::tokens::hash(TOKEN),
        principal: PrincipalName::parse("bench", "principal")?,
        role: Role::Admin,
        label: "bench".into(),
        now,
    };
    store.create_token(token, None).await?;
    let cases = UseCases::new(store.clone(), file.topology.clone(), file.promise);
    Ok(Round {
        scratch,
        store,
        cases,
        url,
    })
}

const TOKEN: &str = "bench-token";

async fn direct(args: &OrdersArgs, round: usize) -> Result<f64> {
    let Round {
        scratch,
        store,
        cases,
        ..
    } = prepare(args, &format!("direct_{round}")).await?;
    let caller = cases
        .principal(TOKEN)
        .await?
        .context("the bench token vanished")?;
    // Validation and option building happen before the clock starts: this path measures the
    // storage transactions alone.
    let mut cmds = Vec::with_capacity(args.orders);
    for i in 0..args.orders {
        let order = order(i)?;
        let key = Key::parse(&format!("k{i}"), "key")?;
        cmds.push(Some(cases.order_command(&caller, key, order)?));
    }
    let cmds = Arc::new(std::sync::Mutex::new(cmds));
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (store, cmds, next, n) = (store.clone(), cmds.clone(), next.clone(), args.orders);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(());
                }
                let cmd = cmds
                    .lock()
                    .ok()
                    .and_then(|mut c| c[i].take())
                    .context("command taken twice")?;
                store.place_order(cmd).await?;
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    let rate = args.orders as f64 / start.elapsed().as_secs_f64();
    drop((store, cases));
    scratch.remove().await;
    Ok(rate)
}

/// HTTP served in this process.
async fn http_here(args: &OrdersArgs, round: usize) -> Result<f64> {
    let Round {
        scratch,
        store,
        cases,
        ..
    } = prepare(args, &format!("http_{round}")).await?;
    let state = AppState::new(cases);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rendan_api::serve(
        listener,
        rendan_api::app(state),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let rate = load(args, &[format!("http://{addr}")]).await;
    let _ = stop_tx.send(());
    server.await??;
    drop(store);
    scratch.remove().await;
    rate
}

/// `rendan serve` children on the round's PostgreSQL database, killed when dropped.
struct Servers(Vec<Child>);

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `rendan serve` on a random port against `url`; answers its base URL.
fn spawn_server(url: &str, servers: &mut Servers) -> Result<String> {
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "serve",
            "--no-demo",
            "--no-netwatch",
            "--listen",
            "127.0.0.1:0",
            "--database",
            url,
        ])
        .env("RENDAN_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting rendan serve")?;
    let stderr = child.stderr.take().context("no stderr from rendan serve")?;
    servers.0.push(child);
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .context("rendan serve exited before listening")??;
        if let Some(base) = line.strip_prefix("listening on ") {
            break base.trim().to_string();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Ok(base)
}

/// HTTP served by `processes` child processes sharing the round's PostgreSQL database.
async fn http_processes(args: &OrdersArgs, round: usize, processes: usize) -> Result<f64> {
    let Round {
        scratch,
        store,
        cases,
        url,
    } = prepare(args, &format!("procs{processes}_{round}")).await?;
    drop((store, cases));
    let url = url.context("child processes need a PostgreSQL database")?;
    let mut servers = Servers(Vec::new());
    let mut bases = Vec::new();
    for _ in 0..processes {
        bases.push(spawn_server(&url, &mut servers)?);
    }
    let rate = load(args, &bases).await;
    drop(servers);
    scratch.remove().await;
    rate
}

/// Places `args.orders` orders through HTTP, client `c` talking to `bases[c % len]`.
async fn load(args: &OrdersArgs, bases: &[String]) -> Result<f64> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..args.clients {
        let url = format!("{}/api/v1/orders", bases[c % bases.len()]);
        let (client, next, n) = (client.clone(), next.clone(), args.orders);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(());
                }
                let res = client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("Idempotency-Key", format!("k{i}"))
                    .json(&body(i))
                    .send()
                    .await?;
                if res.status() != reqwest::StatusCode::CREATED {
                    bail!("order {i}: HTTP {}", res.status());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(args.orders as f64 / start.elapsed().as_secs_f64())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark and prints per-round figures, medians and the ratios.
pub async fn orders(args: OrdersArgs) -> Result<()> {
    if args.orders == 0 || args.clients == 0 || args.rounds == 0 {
        bail!("--orders, --clients and --rounds must be positive");
    }
    if let Some(url) = &args.database
        && !is_postgres_url(url)
    {
        bail!("--database must be a postgres:// URL");
    }
    let backend = if args.database.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!(
        "{backend}: {} single-line orders per path and round, {} concurrent clients, {} rounds",
        args.orders, args.clients, args.rounds
    );
    let (mut d, mut h1, mut h2) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let rd = direct(&args, round).await?;
        if args.database.is_some() {
            let r1 = http_processes(&args, round, 1).await?;
            let r2 = http_processes(&args, round, 2).await?;
            println!(
                "round {}: direct {rd:.0} orders/s, http 1 process {r1:.0} orders/s ({:.2}), \
                 http 2 processes {r2:.0} orders/s ({:.2})",
                round + 1,
                r1 / rd,
                r2 / rd
            );
            h1.push(r1);
            h2.push(r2);
        } else {
            let rh = http_here(&args, round).await?;
            println!(
                "round {}: direct {rd:.0} orders/s, http {rh:.0} orders/s, ratio {:.2}",
                round + 1,
                rh / rd
            );
            h1.push(rh);
        }
        d.push(rd);
    }
    let (md, mh1) = (median(&mut d), median(&mut h1));
    if h2.is_empty() {
        println!(
            "median: direct {md:.0} orders/s, http {mh1:.0} orders/s, http/direct {:.2}",
            mh1 / md
        );
    } else {
        let mh2 = median(&mut h2);
        println!(
            "median: direct {md:.0} orders/s, http 1 process {mh1:.0} orders/s, \
             http 2 processes {mh2:.0} orders/s; http/direct {:.2} (1 process), {:.2} (2 \
             processes); 2 processes / 1 process {:.2}",
            mh1 / md,
            mh2 / md,
            mh2 / mh1
        );
    }
    Ok(())
}
