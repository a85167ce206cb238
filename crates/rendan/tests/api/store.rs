//! The store's own guarantees, straight through the use-cases without HTTP, on every backend:
//! concurrent orders never oversell, a key or a reference raced from many tasks (and, on
//! PostgreSQL, from two independent stores as two processes would) gives one order, one
//! order's cancellation, one production order's completion and one order's booking raced
//! under many keys take effect once, and the journal replays to the stored balances.

use crate::database::{Backend, Database};
use rendan_domain::access::{Principal, PrincipalName, Role};
use rendan_domain::idempotency::Key;
use rendan_domain::order::NewOrder;
use rendan_store::{NewTokenRecord, Store, StoreError};
use rendan_usecases::{Error, UseCases};
use std::sync::Arc;

const SKU: &str = "WM-FL-8";
/// 07:00 in Varese on Monday 7 December 2026: every use-case of these tests runs at it.
const MONDAY_MORNING: &str = "2026-12-07T06:00:00Z";

/// Use-cases over `stores` (one per simulated process) and the admin principal.
async fn setup(db: &Database) -> (Vec<UseCases>, Principal, Arc<dyn Store>) {
    let file = rendan_topology::load(None).expect("topology");
    // SQLite admits one store per data directory; PostgreSQL is shared by independent pools.
    let count = if crate::BACKEND == Backend::Postgres {
        2
    } else {
        1
    };
    let mut stores = Vec::new();
    for _ in 0..count {
        stores.push(db.open().await);
    }
    let first = stores[0].clone();
    first.save_topology(&file.topology).await.expect("topology");
    let token = NewTokenRecord {
        hash: rendan_usecases::tokens::hash("store-admin"),
        principal: PrincipalName::parse("admin", "principal").expect("name"),
        role: Role::Admin,
        label: "test".into(),
        now: jiff::Timestamp::now(),
    };
    first.create_token(token, None).await.expect("token");
    let now: jiff::Timestamp = MONDAY_MORNING.parse().expect("instant");
    let cases: Vec<UseCases> = stores
        .into_iter()
        .map(|s| {
            UseCases::with_clock(
                s,
                file.topology.clone(),
                file.promise,
                Box::new(move || now),
            )
        })
        .collect();
    let admin = cases[0]
        .principal("store-admin")
        .await
        .expect("read")
        .expect("admin");
    (cases, admin, first)
}

fn new_order(reference: &str) -> NewOrder {
    let body = serde_json::from_value(crate::helpers::order(
        reference,
        crate::helpers::VARESE.0,
        crate::helpers::VARESE.1,
        &[(SKU, 1)],
    ))
    .expect("body");
    rendan_api::to_new_order(&body).expect("valid order")
}

async fn receive(cases: &UseCases, qty: i64) {
    let store = cases.store();
    store
        .receive_stock(
            &rendan_domain::SiteId::parse("wh-varese", "site").expect("site"),
            &rendan_domain::catalogue::Sku::parse(SKU, "sku").expect("sku"),
            qty,
            "test",
            jiff::Timestamp::now(),
            None,
        )
        .await
        .expect("receipt");
}

async fn ledger_is_sound(store: &Arc<dyn Store>) {
    let report = rendan_store::ledger::check(store.as_ref())
        .await
        .expect("ledger");
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_never_oversell() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (cases, admin, store) = setup(&db).await;
    receive(&cases[0], 40).await;
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (cases, admin) = (cases[t % cases.len()].clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let reference = format!("s-{t}-{i}");
                let key = Key::parse(&reference, "key").expect("key");
                cases
                    .place_order(&admin, key, new_order(&reference))
                    .await
                    .expect("placed");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let rows = store.stock(&Default::default()).await.expect("stock");
    let row = rows
        .iter()
        .find(|r| r.site.as_str() == "wh-varese" && r.sku.as_str() == SKU)
        .expect("balance");
    assert_eq!((row.balance.on_hand, row.balance.reserved), (40, 40));
    let orders = store
        .orders(&rendan_store::OrderQuery {
            limit: 1_000,
            ..Default::default()
        })
        .await
        .expect("orders");
    assert_eq!(orders.items.len(), 160);
    let from_stock = orders
        .items
        .iter()
        .filter(|o| {
            matches!(
                o.lines[0].fulfilment,
                rendan_domain::order::Fulfilment::Stock { .. }
            )
        })
        .count();
    assert_eq!(from_stock, 40, "exactly the stock on hand is reserved");
    ledger_is_sound(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_key_raced_from_many_tasks_places_one_order() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (cases, admin, store) = setup(&db).await;
    receive(&cases[0], 5).await;
    let results = race(&cases, &admin, 16, |cases, admin, _| async move {
        cases
            .place_order(&admin, key("the-one-key"), new_order("REF-1"))
            .await
    })
    .await;
    let mut ids = Vec::new();
    let mut created = 0;
    for r in results {
        let placed = r.expect("created or replayed");
        created += usize::from(!placed.is_replay());
        ids.push(placed.into_inner().id);
    }
    assert_eq!(created, 1, "exactly one request creates the order");
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    let counts = store.order_counts().await.expect("counts");
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 1);
    ledger_is_sound(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reference_raced_under_many_keys_places_one_order() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (cases, admin, store) = setup(&db).await;
    receive(&cases[0], 5).await;
    let results = race(&cases, &admin, 16, |cases, admin, t| async move {
        cases
            .place_order(&admin, key(&format!("key-{t}")), new_order("SAME-REF"))
            .await
    })
    .await;
    let (mut created, mut refused) = (Vec::new(), Vec::new());
    for r in results {
        match r {
            Ok(placed) => created.push(placed.into_inner().id),
            Err(Error::Store(StoreError::DuplicateReference(d))) => refused.push(d),
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(created.len(), 1, "one order per reference");
    assert_eq!(refused.len(), 15);
    assert!(
        refused.iter().all(|d| d.existing == created[0]),
        "the conflict names the existing order"
    );
    let counts = store.order_counts().await.expect("counts");
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 1);
    ledger_is_sound(&store).await;
}

/// Two processes starting on one new database both seed the demo stock: it is received once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_stock_seeded_from_two_stores_at_once_is_received_once() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (cases, _, first) = setup(&db).await;
    let site = rendan_domain::SiteId::parse("wh-varese", "site").expect("site");
    let receipts: Vec<_> = ["WM-FL-8", "TV-LED-43", "REF-BM-340"]
        .iter()
        .map(|sku| {
            let sku = rendan_domain::catalogue::Sku::parse(sku, "sku").expect("sku");
            (site.clone(), sku, 7)
        })
        .collect();
    let mut tasks = Vec::new();
    for round in 0..8 {
        let store = cases[round % cases.len()].store().clone();
        let receipts = receipts.clone();
        tasks.push(tokio::spawn(async move {
            store
                .seed_stock(receipts, "opening stock", jiff::Timestamp::now())
                .await
                .expect("seed")
        }));
    }
    let mut made = 0;
    for t in tasks {
        made += t.await.expect("task");
    }
    assert_eq!(made, receipts.len(), "exactly one seed took effect");
    let rows = first.stock(&Default::default()).await.expect("stock");
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.balance.on_hand == 7), "{rows:?}");
    ledger_is_sound(&first).await;
}

/// Sends `n` requests at once, request `t` through store `t % stores` (on PostgreSQL two
/// stores, as two processes would), and answers their results in order.
async fn race<T, Fut>(
    cases: &[UseCases],
    admin: &Principal,
    n: usize,
    request: impl Fn(UseCases, Principal, usize) -> Fut,
) -> Vec<Result<T, Error>>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
{
    let tasks: Vec<_> = (0..n)
        .map(|t| tokio::spawn(request(cases[t % cases.len()].clone(), admin.clone(), t)))
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

fn key(value: &str) -> Key {
    Key::parse(value, "key").expect("key")
}

/// On hand and reserved of `SKU` at wh-varese.
async fn varese_balance(store: &Arc<dyn Store>) -> (i64, i64) {
    let rows = store.stock(&Default::default()).await.expect("stock");
    rows.iter()
        .find(|r| r.site.as_str() == "wh-varese" && r.sku.as_str() == SKU)
        .map_or((0, 0), |r| (r.balance.on_hand, r.balance.reserved))
}

/// One order cancelled from many tasks under as many keys (from two stores on PostgreSQL):
/// one cancellation takes effect, every other finds the order cancelled, and its reservation
/// is released once, leaving the other order's reservation alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_cancelled_under_many_keys_is_released_once() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (cases, admin, store) = setup(&db).await;
    receive(&cases[0], 5).await;
    let place = |reference: &'static str| {
        let (cases, admin) = (cases[0].clone(), admin.clone());
        async move {
            cases
                .place_order(&admin, key(reference), new_order(reference))
                .await
                .expect("placed")
                .into_inner()
                .id
        }
    };
    place("keep").await;
    let gone = place("gone").await;
    assert_eq!(varese_balance(&store).await, (5, 2));
    let results = race(&cases, &admin, 16, |cases, admin, t| async move {
        cases
            .cancel_order(&admin, key(&format!("cancel-{t}")), gone)
            .await
    })
    .await;
    let (mut cancelled, mut refused) = (0, 0);
    for r in results {
        match r {
            Ok(o) => {
                assert!(!o.is_replay());
                cancelled += 1;
            }
            Err(Error::Store(StoreError::Transition(_))) => refused += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!((cancelled, refused), (1, 15));
    assert_eq!(
        varese_balance(&store).await,
        (5, 1),
        "the cancelled order's unit is released once, the other order keeps its own"
    );
    ledger_is_sound(&store).await;
}

/// One production order completed from many tasks under as many keys: its goods are received
/// and reserved once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_production_order_completed_under_many_keys_receives_once() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (cases, admin, store) = setup(&db).await;
    let order = cases[0]
        .place_order(&admin, key("made"), new_order("made"))
        .await
        .expect("placed")
        .into_inner();
    let production = match &order.lines[0].fulfilment {
        rendan_domain::order::Fulfilment::Production {
            production_order, ..
        } => *production_order,
        other => panic!("made to order, not {other:?}"),
    };
    let results = race(&cases, &admin, 16, |cases, admin, t| async move {
        cases
            .complete_production(&admin, key(&format!("complete-{t}")), production)
            .await
    })
    .await;
    let (mut completed, mut refused) = (0, 0);
    for r in results {
        match r {
            Ok(_) => completed += 1,
            Err(Error::Store(StoreError::ProductionClosed { .. })) => refused += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!((completed, refused), (1, 15));
    assert_eq!(varese_balance(&store).await, (1, 1), "received once");
    let order = cases[0].order(&admin, order.id).await.expect("order");
    assert_eq!(order.status.as_str(), "ready");
    ledger_is_sound(&store).await;
}

/// One order booked from many tasks on as many days at once: it gets one appointment, and no
/// other day holds a visit of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_booked_on_many_days_at_once_gets_one_appointment() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (cases, admin, store) = setup(&db).await;
    let depot = cases[0]
        .topology()
        .site(&rendan_domain::SiteId::parse("dp-varese", "depot").expect("id"))
        .expect("depot")
        .clone();
    let crew = rendan_domain::crew::NewCrew {
        name: "Van".into(),
        skills: Default::default(),
        truck: rendan_domain::crew::Truck { kg: 800.0, m3: 8.0 },
        week: rendan_domain::crew::Week::monday_to_saturday(rendan_domain::crew::default_shift()),
        days_off: Default::default(),
    };
    cases[0]
        .create_crew(&admin, key("crew"), &depot, crew)
        .await
        .expect("crew");
    receive(&cases[0], 1).await;
    let order = cases[0]
        .place_order(&admin, key("visit"), new_order("visit"))
        .await
        .expect("placed")
        .into_inner()
        .id;
    let first: jiff::civil::Date = "2026-12-08".parse().expect("date");
    let ten = jiff::civil::time(10, 0, 0, 0);
    let results = race(&cases, &admin, 10, |cases, admin, t| async move {
        let date = first.saturating_add(jiff::Span::new().days((t % 5) as i64));
        cases
            .book(&admin, key(&format!("book-{t}")), order, date, ten)
            .await
    })
    .await;
    let mut booked = Vec::new();
    for r in results {
        match r {
            Ok(a) => booked.push(a.into_inner()),
            Err(Error::Store(StoreError::Refused(r))) => {
                assert_eq!(r.reason.as_str(), "state", "{r:?}");
            }
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(booked.len(), 1, "{booked:?}");
    let days = store.depot_days(&depot.id, first, 5).await.expect("days");
    let visits: Vec<(jiff::civil::Date, i64)> = days
        .iter()
        .flat_map(|d| d.visits.iter().map(move |v| (d.date, v.appointment.order)))
        .collect();
    assert_eq!(visits, vec![(booked[0].date, order)]);
    let stored = cases[0]
        .appointment(&admin, order)
        .await
        .expect("appointment");
    assert_eq!(stored, booked[0]);
}
