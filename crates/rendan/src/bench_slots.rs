//! `rendan bench slots`: the slot query of one order over 7 days at a depot with 8 crews and
//! 300 booked visits a day, through HTTP; and, on the same visits, the cost of the plan built
//! by successive bookings, of `optimise`, and of the engine alone.
//!
//! Setup (not timed): a scratch SQLite store with the default topology and one extra product
//! for the benchmark, a small appliance installed in 5 minutes (the catalogue's quickest takes
//! 15, and 8 crews cannot fit 300 of those into ten hours of windows); 8 crews at `dp-varese`
//! working 07:00–20:00 (one in two certified for air conditioners, two truck sizes); orders of
//! one unit from customers spread within ~4 km of the depot, booked day by day and window by window until each of the 7 days
//! holds the visits asked for (`--visits`, default 300), re-planning the day (`optimise`, 2 s)
//! whenever it starts refusing, as a planner would. Timed: `--queries` sequential
//! `GET /orders/{id}/slots?from=…&days=7` for a fresh order, each over the API in this process.

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use rendan_domain::SiteId;
use rendan_domain::access::{PrincipalName, Role};
use rendan_domain::catalogue::Sku;
use rendan_domain::crew::{NewCrew, RawCrew};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{NewOrder, RawCustomer};
use rendan_store::{NewTokenRecord, Store};
use rendan_store_sqlite::SqliteStore;
use rendan_usecases::UseCases;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of `rendan bench slots`.
#[derive(Debug, Clone, clap::Args)]
pub struct SlotsArgs {
    /// Booked visits per day.
    #[arg(long, default_value_t = 300)]
    pub visits: usize,
    /// Crews at the depot.
    #[arg(long, default_value_t = 8)]
    pub crews: usize,
    /// Slot queries timed.
    #[arg(long, default_value_t = 200)]
    pub queries: usize,
    /// Seconds the engine alone plans the first day's visits.
    #[arg(long, default_value_t = 60)]
    pub engine_seconds: u64,
}

const DEPOT: &str = "dp-varese";
const WAREHOUSE: &str = "wh-varese";
const SKU: &str = "BENCH-SMALL";

/// The default topology with the benchmark's product.
fn topology() -> Result<rendan_topology::TopologyFile> {
    let text = format!(
        "{}\n[[product]]\nsku = \"{SKU}\"\nname = \"Small appliance (benchmark)\"\n\
         category = \"television\"\nvolume_m3 = 0.05\nweight_kg = 5.0\ninstall_minutes = 5\n\
         makers = [{{ factory = \"fx-varese\", lead_days = 1 }}]\n",
        rendan_topology::DEFAULT_TOML
    );
    Ok(rendan_topology::parse(&text, "benchmark topology")?)
}
const TOKEN: &str = "bench-slots-token";
const DAYS: i64 = 7;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// A customer `i` of a deterministic scatter within ~4 km of the depot.
fn customer(depot: &rendan_domain::Site, i: usize) -> (f64, f64) {
    let a = i as f64 * 2.399_963;
    let r = 0.035 * (((i * 7919) % 1000) as f64 / 1000.0).sqrt();
    (
        depot.location.lat() + r * a.sin(),
        depot.location.lon() + 1.4 * r * a.cos(),
    )
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: &SlotsArgs) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("rendan-bench-slots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = measure(args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure(args: &SlotsArgs, dir: &std::path::Path) -> Result<()> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir).await?);
    let file = topology()?;
    store.save_topology(&file.topology).await?;
    let now = jiff::Timestamp::now();
    store
        .create_token(
            NewTokenRecord {
                hash: rendan_usecases::tokens::hash(TOKEN),
                principal: PrincipalName::parse("bench", "principal")?,
                role: Role::Admin,
                label: "bench".into(),
                now,
            },
            None,
        )
        .await?;
    let cases = UseCases::new(store.clone(), file.topology.clone(), file.promise);
    let admin = cases
        .principal(TOKEN)
        .await?
        .context("the benchmark's token")?;
    let depot = cases.depot(DEPOT, "depot")?;
    let orders_needed = args.visits * DAYS as usize * 2 + args.queries + 10;
    store
        .receive_stock(
            &SiteId::parse(WAREHOUSE, "site")?,
            &Sku::parse(SKU, "sku")?,
            orders_needed as i64,
            "bench",
            now,
            None,
        )
        .await?;
    for c in 0..args.crews {
        let skills: Vec<String> = if c % 2 == 0 {
            vec!["ac-certified".into()]
        } else {
            Vec::new()
        };
        let (kg, m3) = if c % 3 == 0 {
            (1500.0, 18.0)
        } else {
            (800.0, 9.0)
        };
        let shift = Some(Some(("07:00", "20:00")));
        let crew = NewCrew::new(&RawCrew {
            name: &format!("Bench {c}"),
            skills: &skills,
            kg,
            m3,
            week: [shift, shift, shift, shift, shift, shift, shift],
            days_off: &[],
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        cases
            .create_crew(&admin, Key::parse(&format!("crew-{c}"), "k")?, &depot, crew)
            .await?;
    }
    let (today, _) = cases.dispatch().local_now(&depot.id, now);
    let first = today.saturating_add(jiff::Span::new().days(1));
    let windows: Vec<jiff::civil::Time> = cases
        .dispatch()
        .windows(&depot.id)
        .all()
        .iter()
        .map(|w| w.start)
        .collect();
    let bar = ProgressBar::new((args.visits as u64) * DAYS as u64);
    bar.set_style(
        ProgressStyle::with_template("booking {bar:40} {pos}/{len} visits {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if !console_is_terminal() {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut next = 0usize;
    let place = |i: usize| -> Result<NewOrder> {
        let (lat, lon) = customer(&depot, i);
        NewOrder::new(
            "web",
            &format!("bench-{i}"),
            RawCustomer {
                name: "Bench Customer",
                phone: "+39 0332 000000",
                address: "Via Bench 1",
                lat,
                lon,
            },
            &[(SKU, 1)],
        )
        .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let started = Instant::now();
    let mut booked_per_day = Vec::new();
    let mut replans_per_day = Vec::new();
    for d in 0..DAYS {
        let date = first.saturating_add(jiff::Span::new().days(d));
        let mut booked = 0;
        let mut misses = 0;
        let mut optimised_at = usize::MAX;
        let mut replans = 0;
        while booked < args.visits && misses < 200 {
            // Successive insertions leave slack in the routes: when the day starts refusing,
            // re-plan it, as a planner would, and go on booking.
            if misses >= 20 && optimised_at != booked {
                cases
                    .optimise_for(&admin, None, &depot, date, Duration::from_secs(2))
                    .await?;
                optimised_at = booked;
                misses = 0;
                replans += 1;
            }
            let i = next;
            next += 1;
            let order = place(i)?;
            let id = cases
                .place_order(&admin, Key::parse(&format!("o-{i}"), "k")?, order)
                .await?
                .into_inner()
                .id;
            let mut ok = false;
            for k in 0..windows.len() {
                let start = windows[(i + k) % windows.len()];
                let key = Key::parse(&format!("b-{i}-{k}"), "k")?;
                if cases.book(&admin, key, id, date, start).await.is_ok() {
                    ok = true;
                    break;
                }
            }
            if ok {
                booked += 1;
                misses = 0;
                bar.inc(1);
            } else {
                misses += 1;
            }
        }
        booked_per_day.push(booked);
        replans_per_day.push(replans);
    }
    bar.finish_and_clear();
    let setup = started.elapsed();
    if booked_per_day.iter().any(|b| *b < args.visits) {
        println!("note: the crews took fewer visits than asked on some days: {booked_per_day:?}");
    }

    // The timed part: slot queries over HTTP for a fresh order near the depot.
    let state = rendan_api::AppState::new(cases.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(rendan_api::serve(
        listener,
        rendan_api::app(state),
        async move {
            let _ = stopped.await;
        },
    ));
    let probe = cases
        .place_order(&admin, Key::parse("probe", "k")?, place(next)?)
        .await?
        .into_inner()
        .id;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/orders/{probe}/slots?from={first}&days=7");
    let mut ms = Vec::with_capacity(args.queries);
    let mut offered = 0;
    for q in 0..args.queries + 5 {
        let t = Instant::now();
        let res = client.get(&url).bearer_auth(TOKEN).send().await?;
        if !res.status().is_success() {
            bail!("slot query answered {}", res.status());
        }
        let body: Vec<serde_json::Value> = res.json().await?;
        let elapsed = t.elapsed().as_secs_f64() * 1000.0;
        // The first few warm the statement caches.
        if q >= 5 {
            ms.push(elapsed);
            offered = body.len();
        }
    }
    let _ = stop.send(());
    let _ = server.await;
    ms.sort_by(f64::total_cmp);
    println!(
        "slots: {} crews at {DEPOT}, booked visits per day {:?}, re-planned while booking {:?} times (setup {:.0} s)",
        args.crews,
        booked_per_day,
        replans_per_day,
        setup.as_secs_f64()
    );
    println!(
        "slot query, one order over 7 days, {} queries over HTTP: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({offered} windows offered)",
        ms.len(),
        percentile(&ms, 0.5),
        percentile(&ms, 0.99),
        ms.last().copied().unwrap_or_default()
    );

    // Plan quality on the first day: as booked, optimised for 10 s, the engine alone.
    let plan = cases.plan(&admin, &depot, first).await?;
    let booked_cost = plan.schedule.cost;
    let optimised = cases
        .optimise_for(&admin, None, &depot, first, Duration::from_secs(10))
        .await?
        .into_inner();
    let (problem, _) = cases.export(&admin, &depot, first).await?;
    let p = rendan_route::io::json::parse_problem(&problem, rendan_route::io::Distances::Exact)?;
    let limit = Duration::from_secs(args.engine_seconds);
    let engine = tokio::task::spawn_blocking(move || {
        let config = rendan_route::Config::new(rendan_route::Objective::Distance, 1);
        let mut stop = rendan_route::Limits::new(Some(limit), None);
        rendan_route::solve(&p, &config, &mut stop, &mut |_| {}).map(|s| {
            let report = rendan_route::check(&p, &s.plans(&p));
            (report.cost, report.feasible)
        })
    })
    .await??;
    println!(
        "plan of {first} ({} visits): as booked {:.2} km; optimise 10 s {:.2} km ({:+.1}%); engine alone {} s {:.2} km ({:+.1}%, feasible {})",
        booked_per_day[0],
        booked_cost,
        optimised.schedule.cost,
        100.0 * (optimised.schedule.cost - booked_cost) / booked_cost.max(1e-9),
        args.engine_seconds,
        engine.0,
        100.0 * (engine.0 - booked_cost) / booked_cost.max(1e-9),
        engine.1
    );
    Ok(())
}

fn console_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
