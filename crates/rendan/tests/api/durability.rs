//! SIGKILL in the middle of a load: every order that got a 2xx is there after a restart, with
//! its reservations, and the ledger still balances.

use crate::database::Database;
use crate::helpers::{VARESE, order};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const TOKEN: &str = "rdn_durability_test_admin_token";
pub const SKU: &str = "TV-QLED-65";

/// Starts `rendan serve` on a random port over `db` and returns the child and its base URL.
pub fn start(db: &Database) -> (Child, String) {
    start_with(db, &["--no-demo"])
}

/// As [`start`], with more arguments for `serve` (and the demo unless they say `--no-demo`).
pub fn start_with(db: &Database, args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rendan"))
        .args(["serve", "--no-netwatch", "--listen", "127.0.0.1:0"])
        .args(args)
        .args(db.args())
        .env("RENDAN_ADMIN_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rendan");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("rendan exited before listening")
            .expect("read");
        if let Some(url) = line.strip_prefix("listening on ") {
            break url.trim().to_string();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_orders_survive_sigkill() {
    let Some(db) = Database::fresh().await else {
        return;
    };
    let (mut child, base) = start(&db);
    let client = reqwest::Client::new();
    let res = client
        .post(format!("{base}/api/v1/stock/receipts"))
        .bearer_auth(TOKEN)
        .header("Idempotency-Key", "opening-stock")
        .json(&serde_json::json!({"site": "wh-varese", "sku": SKU, "qty": 300}))
        .send()
        .await
        .expect("receipt");
    assert_eq!(res.status(), 201);

    let acked: Arc<Mutex<Vec<Value>>> = Arc::default();
    let mut clients = Vec::new();
    for c in 0..8 {
        let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
        clients.push(tokio::spawn(async move {
            for i in 0.. {
                let key = format!("c{c}-{i}");
                let body = order(&key, VARESE.0, VARESE.1, &[(SKU, 1)]);
                let sent = client
                    .post(format!("{base}/api/v1/orders"))
                    .bearer_auth(TOKEN)
                    .header("Idempotency-Key", &key)
                    .json(&body)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                let Ok(res) = sent else { return };
                if !res.status().is_success() {
                    return;
                }
                let Ok(json) = res.json::<Value>().await else {
                    return;
                };
                if let Ok(mut a) = acked.lock() {
                    a.push(json);
                }
            }
        }));
    }
    // Let the load build up, then kill without warning.
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if acked.lock().map(|a| a.len()).unwrap_or(0) >= 400 {
            break;
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    for c in clients {
        c.await.expect("client");
    }
    let acked = acked.lock().expect("acked").clone();
    assert!(acked.len() >= 400);

    let (mut child, base) = start(&db);
    assert_acknowledged_kept(&client, &base, &acked).await;
    let stock_lines = acked
        .iter()
        .filter(|o| o["lines"][0]["fulfilment"]["kind"] == "stock")
        .count() as i64;
    let reserved = reserved(&client, &base).await;
    // Orders committed in the instant before the kill may have lost only their answer, so the
    // store may hold more reservations than acknowledgements, never fewer.
    assert!(
        reserved >= stock_lines,
        "reserved {reserved} < acknowledged stock lines {stock_lines}"
    );
    assert!(reserved <= 300);
    child.kill().expect("stop");
    child.wait().expect("reap");

    assert_ledger_consistent(&db);
}

/// Reads each acknowledged order back from the server at `base`: it must be there, with the
/// lines it was acknowledged with.
pub async fn assert_acknowledged_kept(client: &reqwest::Client, base: &str, acked: &[Value]) {
    for o in acked {
        let id = o["id"].as_i64().expect("id");
        let res = client
            .get(format!("{base}/api/v1/orders/{id}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 200, "acknowledged order {id} was lost");
        let stored: Value = res.json().await.expect("json");
        assert_eq!(stored["lines"], o["lines"], "order {id} changed");
    }
}

/// Units of [`SKU`] reserved at wh-varese, as the server at `base` reports them.
pub async fn reserved(client: &reqwest::Client, base: &str) -> i64 {
    let rows: Value = client
        .get(format!("{base}/api/v1/stock?site=wh-varese&sku={SKU}"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("stock")
        .json()
        .await
        .expect("json");
    rows[0]["reserved"].as_i64().expect("reserved")
}

/// `rendan check-ledger` over `db` finds every balance equal to its journal's replay.
pub fn assert_ledger_consistent(db: &Database) {
    let status = Command::new(env!("CARGO_BIN_EXE_rendan"))
        .arg("check-ledger")
        .args(db.args())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("check-ledger");
    assert!(status.success(), "ledger inconsistent after SIGKILL");
}
