//! A power cut in the middle of a load, simulated by the `rendan-sqlite-powercut` VFS: the disk
//! keeps only what SQLite had synced. Every acknowledged order must still be there with its
//! reservation, no order may be there without its reservation or the reverse, and the ledger
//! must balance. Unlike SIGKILL (the page cache survives a killed process), this fails when
//! the store does not sync what it acknowledges, e.g. with `synchronous=OFF` or `NORMAL`.

use rendan_domain::access::{Principal, PrincipalName, Role, Visibility};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{Fulfilment, NewOrder, Order, RawCustomer};
use rendan_domain::stock::Receipt;
use rendan_store::{NewTokenRecord, OrderQuery, StockQuery, Store};
use rendan_store_sqlite::SqliteStore;
use rendan_usecases::UseCases;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

const SKU: &str = "TV-QLED-65";
const STOCK: i64 = 300;
/// Acknowledged orders to wait for before the cut: enough for many groups and a checkpoint.
const BEFORE_CUT: usize = 1_500;

async fn admin(store: &SqliteStore) -> Principal {
    let hash = rendan_usecases::tokens::hash("powercut-admin");
    let token = NewTokenRecord {
        hash: hash.clone(),
        principal: PrincipalName::parse("admin", "principal").expect("name"),
        role: Role::Admin,
        label: "test".into(),
        now: jiff::Timestamp::now(),
    };
    store.create_token(token, None).await.expect("token");
    store.principal(&hash).await.expect("read").expect("admin")
}

fn order(reference: &str) -> NewOrder {
    let customer = RawCustomer {
        name: "Ana",
        phone: "+39 0332 1",
        address: "Via Roma 1",
        lat: 45.80,
        lon: 8.85,
    };
    NewOrder::new("web", reference, customer, &[(SKU, 1)]).expect("valid order")
}

fn from_stock(o: &Order) -> usize {
    o.lines
        .iter()
        .filter(|l| matches!(l.fulfilment, Fulfilment::Stock { .. }))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_orders_survive_a_power_cut() {
    let vfs = rendan_sqlite_powercut::register().expect("register the VFS");
    let dir = tempfile::tempdir().expect("dir");
    let image = tempfile::tempdir().expect("image dir");
    let file = rendan_topology::load(None).expect("topology");

    let store = Arc::new(
        SqliteStore::open_on_vfs(dir.path(), vfs)
            .await
            .expect("open"),
    );
    store.save_topology(&file.topology).await.expect("topology");
    let admin = admin(&store).await;
    let cases = UseCases::new(store.clone(), file.topology.clone(), file.promise);
    let receipt = Receipt::new(cases.topology(), "wh-varese", SKU, STOCK, None).expect("receipt");
    cases
        .receive_stock(&admin, Key::parse("opening", "key").expect("key"), receipt)
        .await
        .expect("opening stock");

    let acked: Arc<Mutex<Vec<Order>>> = Arc::default();
    let (count_tx, mut count_rx) = watch::channel(0usize);
    let count_tx = Arc::new(count_tx);
    let mut clients = Vec::new();
    for c in 0..8 {
        let (cases, admin, acked, count_tx) = (
            cases.clone(),
            admin.clone(),
            acked.clone(),
            count_tx.clone(),
        );
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let reference = format!("c{c}-{i}");
                let key = Key::parse(&reference, "key").expect("key");
                // After the cut every write fails: the client stops at its first failure.
                let Ok(placed) = cases.place_order(&admin, key, order(&reference)).await else {
                    return;
                };
                let n = {
                    let mut a = acked.lock().expect("acked");
                    a.push(placed.into_inner());
                    a.len()
                };
                count_tx.send_replace(n);
            }
        }));
    }
    count_rx.wait_for(|n| *n >= BEFORE_CUT).await.expect("load");
    let files = rendan_sqlite_powercut::power_cut(dir.path(), image.path()).expect("power cut");
    assert!(!files.is_empty(), "the VFS tracked no file");
    for c in clients {
        c.await.expect("client");
    }
    let acked = acked.lock().expect("acked").clone();
    drop(cases);
    drop(store);

    // The reboot: the synced images, opened with the ordinary VFS.
    let store = SqliteStore::open(image.path())
        .await
        .expect("reopen after the cut");
    for o in &acked {
        let stored = store.order(o.id).await.expect("read");
        let stored = stored.unwrap_or_else(|| panic!("acknowledged order {} was lost", o.id));
        assert_eq!(
            (&stored.external_ref, &stored.lines),
            (&o.external_ref, &o.lines),
            "order {} changed",
            o.id
        );
    }
    let mut all = Vec::new();
    let mut query = OrderQuery {
        visibility: Visibility::default(),
        limit: 500,
        ..Default::default()
    };
    loop {
        let page = store.orders(&query).await.expect("orders");
        all.extend(page.items);
        match page.next {
            Some(next) => query.before_id = Some(next),
            None => break,
        }
    }
    assert!(all.len() >= acked.len());
    assert!(
        all.iter().all(|o| o.lines.len() == 1),
        "an order lost its line"
    );
    let rows = store.stock(&StockQuery::default()).await.expect("stock");
    let row = rows
        .iter()
        .find(|r| r.site.as_str() == "wh-varese" && r.sku.as_str() == SKU)
        .expect("the opening stock survived");
    assert_eq!(row.balance.on_hand, STOCK);
    let reserved = usize::try_from(row.balance.reserved).expect("reserved");
    assert_eq!(
        reserved,
        all.iter().map(from_stock).sum::<usize>(),
        "reservations and orders disagree"
    );
    let report = rendan_store::ledger::check(&store).await.expect("ledger");
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );
}
