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
