//! The store's own guarantees, straight through the use-cases without HTTP, on every backend:
//! concurrent orders never oversell, a key or a reference raced from many tasks (and, on
//! PostgreSQL, from two independent stores as two processes would) gives one order, and the
//! journal replays to the stored balances.

use crate::database::{Backend, Database};
use rendan_domain::access::{Principal, PrincipalName, Role};
use rendan_domain::idempotency::Key;
use rendan_domain::order::NewOrder;
use rendan_store::{NewTokenRecord, Store, StoreError};
use rendan_usecases::{Error, UseCases};
use std::sync::Arc;

const SKU: &str = "WM-FL-8";

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
    let cases: Vec<UseCases> = stores
        .into_iter()
        .map(|s| UseCases::new(s, file.topology.clone(), file.promise))
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
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (cases, admin) = (cases[t % cases.len()].clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let key = Key::parse("the-one-key", "key").expect("key");
            cases
                .place_order(&admin, key, new_order("REF-1"))
                .await
                .expect("created or replayed")
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for t in tasks {
        let placed = t.await.expect("task");
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
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (cases, admin) = (cases[t % cases.len()].clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let key = Key::parse(&format!("key-{t}"), "key").expect("key");
            cases.place_order(&admin, key, new_order("SAME-REF")).await
        }));
    }
    let (mut created, mut refused) = (Vec::new(), Vec::new());
    for t in tasks {
        match t.await.expect("task") {
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
