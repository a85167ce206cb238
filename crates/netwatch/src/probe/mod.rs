//! Probers: TCP connect + echo, HTTP status check and UDP bursts, each bounded by a timeout.
//!
//! Probers return measurements, never verdicts: turning a measurement into UP, DEGRADED or DOWN
//! against a class's thresholds is [`crate::round`]'s job. Every failure is a value carrying
//! the reason, because a failed probe is evidence for the incident timeline.

pub mod http;
pub mod tcp;
pub mod udp;

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// The address could not be resolved.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// No answer in time.
    #[error("timed out after {0} ms")]
    Timeout(u128),
    /// An IO error (refused, reset...).
    #[error("{0}")]
    Io(String),
    /// The answer was not the one expected.
    #[error("{0}")]
    Unexpected(String),
}

impl From<std::io::Error> for ProbeError {
    fn from(e: std::io::Error) -> Self {
        ProbeError::Io(e.to_string())
    }
}

/// Resolves `host:port`, taking the fast path for literal socket addresses.
pub async fn resolve(addr: &str) -> Result<std::net::SocketAddr, ProbeError> {
    if let Ok(a) = addr.parse() {
        return Ok(a);
    }
    tokio::net::lookup_host(addr)
        .await
        .map_err(|_| ProbeError::Resolve(addr.to_string()))?
        .next()
        .ok_or_else(|| ProbeError::Resolve(addr.to_string()))
}
