//! The single writer's group commit: jobs that fail inside a group are rolled back to their
//! savepoint without disturbing the jobs committed with them.

use jiff::Timestamp;
use rendan_domain::SiteId;
use rendan_domain::access::Visibility;
use rendan_domain::catalogue::Sku;
use rendan_store::{CancelOrder, Planning, Store, StoreError};
use rendan_store_sqlite::SqliteStore;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_jobs_do_not_disturb_their_group() {
    let dir = tempfile::tempdir().expect("dir");
    let file = rendan_topology::load(None).expect("topology");
    let store = Arc::new(SqliteStore::open(dir.path()).await.expect("open"));
    store.save_topology(&file.topology).await.expect("topology");
    let site = SiteId::parse("wh-pune", "site").expect("site");
    let sku = Sku::parse("WH-EL-50", "sku").expect("sku");
    let now = Timestamp::now();
    let planning = Planning {
        topology: Arc::new(file.topology.clone()),
        rules: file.promise,
    };

    // 200 concurrent jobs: receipts that must succeed, interleaved with cancellations of
    // orders that do not exist and adjustments the ledger must refuse.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (store, site, sku) = (store.clone(), site.clone(), sku.clone());
        let planning = planning.clone();
        tasks.push(tokio::spawn(async move {
            match i % 3 {
                0 => store
                    .receive_stock(&site, &sku, 2, "r", now, None)
                    .await
                    .map(|_| ()),
                1 => store
                    .cancel_order(CancelOrder {
                        id: 10_000 + i,
                        visibility: Visibility::default(),
                        now,
                        idem: None,
                        planning,
                    })
                    .await
                    .map(|_| ()),
                _ => store
                    .receive_stock(&site, &sku, -5, "bad", now, None)
                    .await
                    .map(|_| ()),
            }
        }));
    }
    let mut ok = 0;
    for (i, t) in tasks.into_iter().enumerate() {
        match (i % 3, t.await.expect("task")) {
            (0, Ok(())) => ok += 1,
            (1, Err(StoreError::NotFound(_))) | (2, Err(StoreError::Stock(_))) => {}
            (kind, other) => panic!("job {i} (kind {kind}) gave {other:?}"),
        }
    }
    assert_eq!(ok, 67);
    let rows = store.stock(&Default::default()).await.expect("stock");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].balance.on_hand, 134);
    let report = rendan_store::ledger::check(store.as_ref())
        .await
        .expect("ledger");
    assert_eq!(report.movements, 67);
    assert!(report.discrepancies.is_empty());
}

#[tokio::test]
async fn survives_reopen_with_its_journal() {
    let dir = tempfile::tempdir().expect("dir");
    let file = rendan_topology::load(None).expect("topology");
    let site = SiteId::parse("wh-osaka", "site").expect("site");
    let sku = Sku::parse("TV-LED-55", "sku").expect("sku");
    {
        let store = SqliteStore::open(dir.path()).await.expect("open");
        store.save_topology(&file.topology).await.expect("topology");
        store
            .receive_stock(&site, &sku, 7, "r", Timestamp::now(), None)
            .await
            .expect("receipt");
    }
    let store = SqliteStore::open(dir.path()).await.expect("reopen");
    // Migrations are idempotent and the topology upsert keeps the stock.
    store
        .save_topology(&file.topology)
        .await
        .expect("topology again");
    let rows = store.stock(&Default::default()).await.expect("stock");
    assert_eq!(rows[0].balance.on_hand, 7);
    assert_eq!(store.movements(0, 10).await.expect("journal").len(), 1);
}
