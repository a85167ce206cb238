//! Use-cases against the real SQLite store: what reaches the store was decided by the domain.

use jiff::Timestamp;
use rendan_domain::access::{Principal, PrincipalName, Role};
use rendan_domain::idempotency::Key;
use rendan_domain::order::{Fulfilment, NewOrder, OrderStatus, RawCustomer};
use rendan_domain::stock::Receipt;
use rendan_store::{NewTokenRecord, Placed, Store};
use rendan_store_sqlite::SqliteStore;
use rendan_usecases::{Error, UseCases};
use std::sync::Arc;

async fn cases(dir: &std::path::Path) -> (UseCases, Principal) {
    let file = rendan_topology::load(None).expect("topology");
    let store = Arc::new(SqliteStore::open(dir).await.expect("open"));
    store.save_topology(&file.topology).await.expect("save");
    let now = Timestamp::from_second(1_795_000_000).expect("instant");
    let hash = rendan_usecases::tokens::hash("admin");
    let token = NewTokenRecord {
        hash: hash.clone(),
        principal: PrincipalName::parse("admin", "principal").expect("name"),
        role: Role::Admin,
        label: "test".into(),
        now,
    };
    if store.principal(&hash).await.expect("read").is_none() {
        store.create_token(token, None).await.expect("token");
    }
    let admin = store.principal(&hash).await.expect("read").expect("admin");
    let cases = UseCases::with_clock(
        store,
        file.topology.clone(),
        file.promise,
        Box::new(move || now),
    );
    (cases, admin)
}

fn key(k: &str) -> Key {
    Key::parse(k, "key").expect("key")
}

fn order(reference: &str, lines: &[(&str, i64)]) -> NewOrder {
    let c = RawCustomer {
        name: "Ana",
        phone: "+39 0332 1",
        address: "Via Roma 1",
        lat: 45.80,
        lon: 8.85,
    };
    NewOrder::new("web", reference, c, lines).expect("valid order")
}

#[tokio::test]
async fn lines_sharing_a_sku_never_take_the_same_units() {
    let dir = tempfile::tempdir().expect("dir");
    let (cases, admin) = cases(dir.path()).await;
    let receipt = Receipt::new(cases.topology(), "wh-varese", "TV-LED-43", 3, None).expect("ok");
    cases
        .receive_stock(&admin, key("r1"), receipt)
        .await
        .expect("receipt");
    let key = Key::parse("k1", "key").expect("key");
    let placed = cases
        .place_order(
            &admin,
            key,
            order("R-1", &[("TV-LED-43", 2), ("TV-LED-43", 2)]),
        )
        .await
        .expect("placed");
    let Placed::Created(o) = placed else {
        panic!("expected a new order")
    };
    assert!(matches!(o.lines[0].fulfilment, Fulfilment::Stock { .. }));
    assert!(matches!(
        o.lines[1].fulfilment,
        Fulfilment::Production { .. }
    ));
    assert_eq!(o.status, OrderStatus::InProduction);
    let rows = cases.stock(&admin, None, None).await.expect("stock");
    let row = rows
        .iter()
        .find(|r| r.site.as_str() == "wh-varese" && r.sku.as_str() == "TV-LED-43")
        .expect("row");
    assert_eq!((row.balance.on_hand, row.balance.reserved), (3, 2));
    assert!(
        rendan_store::ledger::check(cases.store().as_ref())
            .await
            .expect("check")
            .discrepancies
            .is_empty()
    );
}

#[tokio::test]
async fn a_channel_cannot_receive_stock() {
    let dir = tempfile::tempdir().expect("dir");
    let (cases, _) = cases(dir.path()).await;
    let token = cases
        .create_token(None, None, None, Role::Channel, "shop")
        .await
        .expect("token")
        .into_inner();
    let channel = cases
        .principal(token.secret.as_deref().expect("secret"))
        .await
        .expect("read")
        .expect("known");
    let receipt = Receipt::new(cases.topology(), "wh-varese", "TV-LED-43", 3, None).expect("ok");
    assert!(matches!(
        cases.receive_stock(&channel, key("r1"), receipt).await,
        Err(Error::Forbidden { .. })
    ));
}

#[tokio::test]
async fn receipt_keys_are_remembered_across_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let receipt = |cases: &UseCases| {
        Receipt::new(cases.topology(), "wh-varese", "TV-LED-43", 4, Some("DN-1")).expect("ok")
    };
    {
        let (cases, admin) = cases(dir.path()).await;
        let r = receipt(&cases);
        let first = cases
            .receive_stock(&admin, key("dn-1"), r)
            .await
            .expect("receipt");
        assert!(!first.is_replay());
    }
    let (cases, admin) = cases(dir.path()).await;
    let r = receipt(&cases);
    let again = cases
        .receive_stock(&admin, key("dn-1"), r)
        .await
        .expect("replay");
    assert!(again.is_replay());
    assert_eq!(again.into_inner().balance.on_hand, 4);
    let mut other = receipt(&cases);
    other.qty = 5;
    assert!(matches!(
        cases.receive_stock(&admin, key("dn-1"), other).await,
        Err(Error::Store(rendan_store::StoreError::IdempotencyMismatch))
    ));
}
