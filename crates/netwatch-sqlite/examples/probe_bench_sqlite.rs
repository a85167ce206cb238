//! The monitor's scale benchmark (`rendan-netwatch`'s `probe_bench`, same code) with the
//! monitor writing slices and samples to the SQLite store, as `rendan netwatch` does.
//!
//! ```text
//! cargo run --release -p rendan-netwatch-sqlite --example probe_bench_sqlite -- 5000 5 60
//! ```

#[allow(dead_code)]
#[path = "../../netwatch/examples/probe_bench.rs"]
mod bench;

use rendan_netwatch_sqlite::SqliteNetwatchStore;
use std::sync::Arc;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::env::temp_dir().join(format!("rendan-probe-bench-{}", std::process::id()));
    let store = if args.get(1).map(String::as_str) == Some("serve") {
        None
    } else {
        match SqliteNetwatchStore::open(&dir).await {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    };
    match store {
        Some(s) => {
            bench::entry(&args, s, &format!("SQLite ({})", dir.display())).await;
            let _ = std::fs::remove_dir_all(&dir);
        }
        None => bench::entry(&args, Arc::new(rendan_netwatch::MemoryStore::default()), "").await,
    }
}
