//! 32 concurrent clients, 20,000 single-unit orders, 500 units of free stock that can serve
//! them: exactly 500 lines reserved, never oversold, the rest made to order, ledger sound.

use crate::helpers::{VARESE, order, spawn_app};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const SKU: &str = "WM-FL-8";
const ORDERS: usize = 20_000;
const CLIENTS: usize = 32;
const STOCK: i64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_never_oversell_and_the_ledger_balances() {
    let Some(app) = spawn_app().await else { return };
    let app = Arc::new(app);
    app.receipt("wh-varese", SKU, STOCK).await;
    // Stock that cannot serve customers near Varese must stay untouched.
    app.receipt("wh-seoul", SKU, 1_000).await;
    let channel = app.token("channel", None).await;

    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (app, done) = (app.clone(), done.clone());
        tokio::spawn(async move {
            let mut samples = 0;
            while !done.load(Ordering::Relaxed) {
                let (on_hand, reserved, available) = app.balance("wh-varese", SKU).await;
                assert!(available >= 0, "available went negative: {available}");
                assert_eq!(on_hand, STOCK);
                assert!(reserved <= STOCK);
                samples += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            samples
        })
    };
    let next = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (app, next, channel) = (app.clone(), next.clone(), channel.clone());
        clients.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= ORDERS {
                    return;
                }
                let jitter = (i % 100) as f64 * 0.001;
                let body = order(
                    &format!("load-{i}"),
                    VARESE.0 + jitter,
                    VARESE.1 - jitter,
                    &[(SKU, 1)],
                );
                let res = app.post_order(&channel, &format!("load-{i}"), &body).await;
                assert_eq!(res.status(), 201, "order {i}");
            }
        }));
    }
    for c in clients {
        c.await.expect("client");
    }
    done.store(true, Ordering::Relaxed);
    assert!(watcher.await.expect("watcher") > 0);

    let orders = app.all_orders(&app.admin).await;
    assert_eq!(orders.len(), ORDERS);
    let from_stock: Vec<_> = orders
        .iter()
        .filter(|o| o["lines"][0]["fulfilment"]["kind"] == "stock")
        .collect();
    assert_eq!(from_stock.len(), STOCK as usize);
    assert!(
        from_stock
            .iter()
            .all(|o| o["lines"][0]["fulfilment"]["site"] == "wh-varese")
    );
    assert!(from_stock.iter().all(|o| o["status"] == "ready"));
    let production = app.all(&app.admin, "/api/v1/production-orders").await;
    assert_eq!(production.len(), ORDERS - STOCK as usize);
    assert!(
        production
            .iter()
            .all(|p| p["destination"] == "wh-varese" && p["status"] == "open")
    );

    assert_eq!(app.balance("wh-varese", SKU).await, (STOCK, STOCK, 0));
    assert_eq!(app.balance("wh-seoul", SKU).await, (1_000, 0, 1_000));
    let report = rendan_store::ledger::check(app.store.as_ref())
        .await
        .expect("ledger");
    assert!(
        report.discrepancies.is_empty(),
        "{:?}",
        report.discrepancies
    );
    assert_eq!(report.movements, 2 + STOCK as u64);
    crate::capacity::assert_queues_hold(&app).await;
}
