//! `rendan bench orders`: orders per second through HTTP, and in the same run the same
//! fulfilment transactions issued straight to the store, with their ratio.
//!
//! Each round gets fresh databases. Customers are spread around Varese; the warehouse there
//! holds stock for half the orders, so the mix is half reservations, half production orders,
//! on both paths alike. Rounds alternate direct/HTTP so machine noise hits both; medians are
//! reported.

use anyhow::{Context, Result, bail};
use clap::Args;
use rendan_api::{AppState, CustomerBody, LineBody, OrderBody};
use rendan_domain::SiteId;
use rendan_domain::access::{PrincipalName, Role};
use rendan_domain::catalogue::Sku;
use rendan_domain::idempotency::Key;
use rendan_store::{NewTokenRecord, Store};
use rendan_store_sqlite::SqliteStore;
use rendan_usecases::UseCases;
use std::path::PathBuf;
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
    /// Rounds (each runs both paths).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

const SKU: &str = "TV-LED-43";
const WAREHOUSE: &str = "wh-varese";

fn body(i: usize) -> OrderBody {
    // A deterministic scatter within ~40 km of Varese.
    let a = (i as f64) * 2.399_963;
    let r = 0.3 * ((i % 97) as f64 / 97.0);
    OrderBody {
        channel: "web".into(),
        external_ref: format!("bench-{i}"),
        customer: CustomerBody {
            name: format!("Customer {i}"),
            phone: "+39 0332 000000".into(),
            address: format!("Via Bench {i}, Varese"),
            lat: 45.82 + r * a.sin(),
            lon: 8.83 + r * a.cos(),
        },
        lines: vec![LineBody {
            sku: SKU.into(),
            qty: 1,
        }],
    }
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn prepare(tag: &str, stock: i64) -> Result<(Scratch, Arc<SqliteStore>, UseCases)> {
    let dir = std::env::temp_dir().join(format!("rendan-bench-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let scratch = Scratch(dir.clone());
    let file = rendan_topology::load(None)?;
    let store = Arc::new(SqliteStore::open(&dir).await?);
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
        hash: rendan_usecases::tokens::hash("bench-token"),
        principal: PrincipalName::parse("bench", "principal")?,
        role: Role::Admin,
        label: "bench".into(),
        now,
    };
    store.create_token(token, None).await?;
    let cases = UseCases::new(store.clone(), file.topology.clone(), file.promise);
    Ok((scratch, store, cases))
}

async fn direct(args: &OrdersArgs, round: usize) -> Result<f64> {
    let (_scratch, store, cases) =
        prepare(&format!("direct-{round}"), (args.orders / 2) as i64).await?;
    let caller = cases
        .principal("bench-token")
        .await?
        .context("the bench token vanished")?;
    // Validation and option building happen before the clock starts: this path measures the
    // storage transactions alone.
    let mut cmds = Vec::with_capacity(args.orders);
    for i in 0..args.orders {
        let order = rendan_api::to_new_order(&body(i))?;
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
    Ok(args.orders as f64 / start.elapsed().as_secs_f64())
}

async fn http(args: &OrdersArgs, round: usize) -> Result<f64> {
    let (_scratch, _store, cases) =
        prepare(&format!("http-{round}"), (args.orders / 2) as i64).await?;
    let state = AppState::new(cases);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rendan_api::serve(
        listener,
        rendan_api::app(state, None),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let url = format!("http://{addr}/api/v1/orders");
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (client, url, next, n) = (client.clone(), url.clone(), next.clone(), args.orders);
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, anyhow::Error>(());
                }
                let res = client
                    .post(&url)
                    .bearer_auth("bench-token")
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
    let rate = args.orders as f64 / start.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    server.await??;
    Ok(rate)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the benchmark and prints per-round figures, medians and the ratio.
pub async fn orders(args: OrdersArgs) -> Result<()> {
    if args.orders == 0 || args.clients == 0 || args.rounds == 0 {
        bail!("--orders, --clients and --rounds must be positive");
    }
    println!(
        "{} single-line orders per path and round, {} concurrent clients, {} rounds",
        args.orders, args.clients, args.rounds
    );
    let (mut d, mut h) = (Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let rd = direct(&args, round).await?;
        let rh = http(&args, round).await?;
        println!(
            "round {}: direct {rd:.0} orders/s, http {rh:.0} orders/s, ratio {:.2}",
            round + 1,
            rh / rd
        );
        d.push(rd);
        h.push(rh);
    }
    let (md, mh) = (median(&mut d), median(&mut h));
    println!(
        "median: direct {md:.0} orders/s, http {mh:.0} orders/s, http/direct {:.2}",
        mh / md
    );
    Ok(())
}
