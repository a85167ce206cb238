//! Shared fixtures: a topology with agents on loopback ports, a monitor over a memory store.

use rendan_netwatch::agent::{self, AgentHandle, AgentOptions};
use rendan_netwatch::{MemoryStore, Netwatch, NetwatchConfig, NetwatchStore};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Starts an agent on a free loopback port (or on `addr`).
pub async fn agent_at(addr: Option<SocketAddr>, drop_udp: f64) -> AgentHandle {
    let mut o = AgentOptions::new(addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()));
    o.drop_udp = drop_udp;
    // Rebinding right after a stop can race the kernel's cleanup: retry briefly.
    for _ in 0..50 {
        match agent::spawn(o.clone()).await {
            Ok(h) => return h,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    panic!("cannot bind agent on {:?}", o.listen);
}

/// Topology TOML with one node per `(id, region, target, agent)` and a `[netwatch]` section.
pub fn topology(nodes: &[(&str, &str, f64, SocketAddr)], netwatch: &str) -> String {
    let mut t = String::new();
    for (id, region, target, addr) in nodes {
        t.push_str(&format!(
            "[[node]]\nid = \"{id}\"\nname = \"{id}\"\nregion = \"{region}\"\nlat = 0.0\nlon = 0.0\navailability_target = {target}\nagent = \"{addr}\"\n\n"
        ));
    }
    t.push_str("[netwatch]\n");
    t.push_str(netwatch);
    t
}

/// Parses a topology text into the monitor's settings.
pub fn config(text: &str) -> NetwatchConfig {
    let file = rendan_topology::parse(text, "test").unwrap();
    NetwatchConfig::from_topology(&file).unwrap()
}

/// A `Netwatch` over a fresh memory store.
pub async fn netwatch(cfg: NetwatchConfig) -> (Netwatch, Arc<dyn NetwatchStore>) {
    let store: Arc<dyn NetwatchStore> = Arc::new(MemoryStore::default());
    (Netwatch::new(cfg, store.clone()).await.unwrap(), store)
}

/// Deliveries a receiver accepted: `(signature header, body)`.
pub type Deliveries = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A loopback webhook receiver: records `(signature, body)` and fails the first `fail_first`
/// deliveries with 503.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    /// What it received and accepted.
    pub got: Deliveries,
    /// Attempts, failed or not.
    pub attempts: Arc<std::sync::atomic::AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start(fail_first: u32) -> Receiver {
        use axum::http::{HeaderMap, StatusCode};
        use std::sync::atomic::Ordering;
        let got: Deliveries = Arc::default();
        let attempts: Arc<std::sync::atomic::AtomicU32> = Arc::default();
        let (g, a) = (got.clone(), attempts.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |h: HeaderMap, body: axum::body::Bytes| {
                let (g, a) = (g.clone(), a.clone());
                async move {
                    if a.fetch_add(1, Ordering::SeqCst) < fail_first {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    let sig = h
                        .get("rendan-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    g.lock().unwrap().push((sig, body.to_vec()));
                    StatusCode::NO_CONTENT
                }
            }),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Receiver {
            addr,
            got,
            attempts,
            task,
        }
    }

    /// Stops it.
    pub fn stop(self) {
        self.task.abort();
    }
}
