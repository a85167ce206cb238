//! Agents answer only their peers: a request to probe another node names a node of the
//! topology (never an address) and is signed with the key the monitor and the agents share
//! (`[netwatch] probe_key`), so an agent is not an open proxy.
//!
//! `GET /probe?node=ID&timeout_ms=N&t=UNIX&sig=HEX`, where `sig` is the HMAC-SHA256 under the
//! key of `ID|N|UNIX`; an agent refuses (and logs) a request whose signature does not verify,
//! whose `t` is more than [`FRESH`] from its clock, or whose node it does not know.

use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;
use std::collections::HashMap;

/// How far a request's time may be from the agent's clock.
pub const FRESH: SignedDuration = SignedDuration::from_mins(2);

/// What an agent needs to answer its peers: the shared key and where each node's agent is.
#[derive(Clone)]
pub struct Peers {
    key: Vec<u8>,
    nodes: HashMap<String, String>,
}

impl std::fmt::Debug for Peers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key never reaches a log line.
        f.debug_struct("Peers")
            .field("key", &"<redacted>")
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

fn mac(key: &[u8], node: &str, timeout_ms: u64, t: i64) -> Option<Hmac<Sha256>> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    m.update(format!("{node}|{timeout_ms}|{t}").as_bytes());
    Some(m)
}

/// The query of a signed request to probe `node`.
pub fn signed_query(key: &[u8], node: &str, timeout_ms: u64, now: Timestamp) -> String {
    let t = now.as_second();
    let sig = mac(key, node, timeout_ms, t)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default();
    format!("node={node}&timeout_ms={timeout_ms}&t={t}&sig={sig}")
}

/// Why a probe request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A field is missing or malformed.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// The signature does not verify under the shared key.
    #[error("bad signature")]
    Signature,
    /// The request's time is too far from the agent's clock (a replay, or a skewed clock).
    #[error("stale request (t={0})")]
    Stale(i64),
    /// The node is not one of the topology's.
    #[error("unknown node {0:?}")]
    UnknownNode(String),
}

impl Peers {
    /// Peers with `key` and each node's agent address.
    pub fn new(key: impl Into<Vec<u8>>, nodes: HashMap<String, String>) -> Peers {
        Peers {
            key: key.into(),
            nodes,
        }
    }

    /// Checks a `/probe` query at `now`; answers the address to probe and the timeout.
    pub fn admit(&self, query: &str, now: Timestamp) -> Result<(String, u64), Refusal> {
        let mut node = None;
        let mut timeout = None;
        let mut t = None;
        let mut sig = None;
        for kv in query.split('&') {
            match kv.split_once('=') {
                Some(("node", v)) => node = Some(v),
                Some(("timeout_ms", v)) => timeout = v.parse::<u64>().ok(),
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("sig", v)) => sig = hex::decode(v).ok(),
                _ => {}
            }
        }
        let node = node.ok_or(Refusal::Malformed("node"))?;
        let timeout = timeout.ok_or(Refusal::Malformed("timeout_ms"))?;
        let t = t.ok_or(Refusal::Malformed("t"))?;
        let sig = sig.ok_or(Refusal::Malformed("sig"))?;
        let m = mac(&self.key, node, timeout, t).ok_or(Refusal::Signature)?;
        m.verify_slice(&sig).map_err(|_| Refusal::Signature)?;
        if (now.as_second() - t).abs() > FRESH.as_secs() {
            return Err(Refusal::Stale(t));
        }
        let addr = self
            .nodes
            .get(node)
            .ok_or_else(|| Refusal::UnknownNode(node.to_string()))?;
        Ok((addr.clone(), timeout.clamp(1, 30_000)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_signed_fresh_requests_for_known_nodes_are_admitted() {
        let now: Timestamp = "2026-12-07T10:00:00Z".parse().unwrap();
        let peers = Peers::new(
            b"shared key".to_vec(),
            [("seoul".to_string(), "127.0.0.1:7403".to_string())].into(),
        );
        let q = signed_query(b"shared key", "seoul", 500, now);
        assert_eq!(peers.admit(&q, now), Ok(("127.0.0.1:7403".into(), 500)));
        let forged = signed_query(b"another key", "seoul", 500, now);
        assert_eq!(peers.admit(&forged, now), Err(Refusal::Signature));
        let tampered = q.replace("timeout_ms=500", "timeout_ms=501");
        assert_eq!(peers.admit(&tampered, now), Err(Refusal::Signature));
        let later = now + SignedDuration::from_mins(3);
        assert!(matches!(peers.admit(&q, later), Err(Refusal::Stale(_))));
        let unknown = signed_query(b"shared key", "mars", 500, now);
        assert_eq!(
            peers.admit(&unknown, now),
            Err(Refusal::UnknownNode("mars".into()))
        );
        assert_eq!(
            peers.admit("target=10.0.0.1:22", now),
            Err(Refusal::Malformed("node"))
        );
    }
}
