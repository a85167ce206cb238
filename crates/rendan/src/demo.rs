//! Demo data: free stock in every warehouse, so that the demo shows both stock and
//! make-to-order fulfilment. Seeded once, into a database whose journal is empty, in one
//! transaction that finds the balances it would fill empty (so two `serve` processes starting
//! together on a new database seed it once).

use anyhow::{Context, Result};
use rendan_domain::access::{PrincipalName, Role};
use rendan_domain::crew::{NewCrew, RawCrew};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{NewOrder, RawCustomer};
use rendan_domain::topology::Topology;
use rendan_domain::{SiteKind, visit::SiteAccess};
use rendan_store::Store;
use rendan_usecases::UseCases;

/// A repeatable quantity 0..=24 per (site, SKU), so the demo looks the same on every machine
/// and about one pair in five starts empty.
fn demo_qty(site: &str, sku: &str) -> i64 {
    // FNV-1a: tiny, stable across platforms and Rust versions (unlike std's hasher).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in site.bytes().chain([0]).chain(sku.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let q = (h % 30) as i64;
    if q < 6 { 0 } else { q - 5 }
}

/// Receives demo stock unless the journal already has entries.
pub async fn seed(store: &dyn Store, topology: &Topology) -> Result<()> {
    if !store.movements(0, 1).await?.is_empty() {
        return Ok(());
    }
    let mut receipts = Vec::new();
    for site in topology
        .sites()
        .iter()
        .filter(|s| s.kind == SiteKind::Warehouse)
    {
        for p in topology.products() {
            let qty = demo_qty(site.id.as_str(), p.sku.as_str());
            if qty > 0 {
                receipts.push((site.id.clone(), p.sku.clone(), qty));
            }
        }
    }
    let made = store
        .seed_stock(receipts, "demo opening stock", jiff::Timestamp::now())
        .await?;
    tracing::info!(receipts = made, "seeded demo stock");
    Ok(())
}

/// The demo's crews at every depot: an air-conditioning and wall-mounting crew with the big
/// truck, a plumbing and gas crew with a medium one, and a crew without certificates with a
/// van; Monday to Saturday, 08:00–18:00.
const CREWS: [(&str, &[&str], f64, f64); 3] = [
    ("Crew A", &["ac-certified", "wall-mount"], 1500.0, 18.0),
    (
        "Crew B",
        &["gas-certified", "plumber", "kitchen-fitter"],
        1000.0,
        12.0,
    ),
    ("Crew C", &[], 600.0, 7.0),
];

/// What the demo's customers order: (SKU, units, floor, lift, haul-away).
const BASKETS: [(&str, i64, i64, bool, bool); 6] = [
    ("TV-LED-43", 1, 0, false, false),
    ("WM-FL-8", 1, 3, true, true),
    ("AC-SPL-12", 1, 2, false, false),
    ("REF-BM-340", 1, 1, true, true),
    ("TV-QLED-75", 1, 4, false, false),
    ("WH-EL-50", 1, 0, false, true),
];

/// A principal of the demo with a token of its own (the token is not shown: the demo acts
/// through it at seeding only).
async fn demo_principal(
    cases: &UseCases,
    name: &str,
    role: Role,
) -> Result<rendan_domain::access::Principal> {
    let token = cases
        .create_token(
            None,
            None,
            Some(PrincipalName::parse(name, "principal")?),
            role,
            "demo",
        )
        .await?
        .into_inner();
    let secret = token.secret.context("a new token without its secret")?;
    cases
        .principal(&secret)
        .await?
        .with_context(|| format!("the token of {name}"))
}

/// Crews at every depot, and at each depot a few orders with appointments over the next
/// days, so that the demo has plans to look at. Done once: nothing happens when crews exist.
pub async fn seed_delivery(cases: &UseCases) -> Result<()> {
    let store = cases.store().clone();
    if !store.crews(None).await?.is_empty() {
        return Ok(());
    }
    let shop = demo_principal(cases, "demo-shop", Role::Channel).await?;
    let planner = demo_principal(cases, "demo-planner", Role::Planner { region: None }).await?;
    let depots: Vec<_> = cases
        .topology()
        .sites()
        .iter()
        .filter(|s| s.kind == SiteKind::Depot)
        .cloned()
        .collect();
    let (mut crews, mut booked) = (0, 0);
    for depot in &depots {
        for (name, skills, kg, m3) in CREWS {
            let skills: Vec<String> = skills.iter().map(|s| s.to_string()).collect();
            let crew = NewCrew::new(&RawCrew {
                name,
                skills: &skills,
                kg,
                m3,
                ..Default::default()
            })
            .map_err(|e| anyhow::anyhow!("demo crew: {e}"))?;
            let key = Key::parse(
                &format!("demo-crew-{}-{}", depot.id, name.replace(' ', "-")),
                "key",
            )?;
            cases.create_crew(&planner, key, depot, crew).await?;
            crews += 1;
        }
        let today = cases.dispatch().local_now(&depot.id, cases.now()).0;
        for (i, (sku, qty, floor, lift, haul)) in BASKETS.iter().enumerate() {
            // Customers a few kilometres around the depot.
            let a = i as f64 * 1.1;
            let c = RawCustomer {
                name: "Demo Customer",
                phone: "+39 0332 000000",
                address: "Demo street 1",
                lat: depot.location.lat() + 0.03 * a.sin(),
                lon: depot.location.lon() + 0.03 * a.cos(),
            };
            let reference = format!("demo-{}-{i}", depot.id);
            let Ok(order) = NewOrder::new("web", &reference, c, &[(sku, *qty)]) else {
                continue;
            };
            let order = order.with_access(SiteAccess::new(*floor, *lift, *haul, "site_access")?);
            let key = Key::parse(&reference, "key")?;
            // A location no warehouse serves (a depot beyond every warehouse's radius) has no
            // demo orders.
            let Some(placed) = unless_refused(cases.place_order(&shop, key, order).await)? else {
                continue;
            };
            let id = placed.into_inner().id;
            let from = today.saturating_add(jiff::Span::new().days(1));
            // An order whose goods come later than the week (made to order) stays unbooked.
            let Some(slots) = unless_refused(cases.slots(&shop, id, from, 7).await)? else {
                continue;
            };
            // Spread the demo's visits over the days and windows on offer.
            if let Some(slot) = slots.get(i * 3 % slots.len().max(1)) {
                let key = Key::parse(&format!("{reference}-visit"), "key")?;
                let visit = cases
                    .book(&shop, key, id, slot.date, slot.window.start)
                    .await;
                if unless_refused(visit)?.is_some() {
                    booked += 1;
                }
            }
        }
    }
    tracing::info!(crews, booked, "seeded demo crews and appointments");
    Ok(())
}

/// A demo step's value; `None` when the rules refused it (no warehouse serves the customer,
/// nothing fits that week), which the demo skips; any other error stops the demo.
fn unless_refused<T>(step: Result<T, rendan_usecases::Error>) -> Result<Option<T>> {
    match step {
        Ok(value) => Ok(Some(value)),
        Err(e) if e.is_refusal() => Ok(None),
        Err(e) => Err(e.into()),
    }
}
