//! One data directory is opened by one process at a time.

use rendan_store::StoreError;
use rendan_store_sqlite::SqliteStore;

/// Regression: two processes could open one data directory at once, each believing its
/// writer was the only one.
#[tokio::test]
async fn a_second_opener_is_refused_with_the_owner_named() {
    let dir = tempfile::tempdir().expect("dir");
    let first = SqliteStore::open(dir.path()).await.expect("first open");
    let Err(StoreError::InUse(message)) = SqliteStore::open(dir.path()).await else {
        panic!("a second open of the same directory must be refused");
    };
    assert!(
        message.contains(&format!("process {}", std::process::id()))
            && message.contains("rendan.lock"),
        "{message}"
    );
    drop(first);
    SqliteStore::open(dir.path())
        .await
        .expect("free again once the first store is gone");
}
