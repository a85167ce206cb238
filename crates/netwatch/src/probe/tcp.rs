//! TCP probe: connect, send one line, wait for the agent to echo it back.
//!
//! A bare connect only proves the kernel accepted the connection (the backlog answers even when
//! the agent process is hung), so the probe also requires the echo, which the agent delays by
//! its `--delay` like every other answer.

use super::{ProbeError, resolve};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The line the probe sends; the agent echoes whatever does not look like HTTP.
pub const PING: &[u8] = b"RENDAN-PING\n";

/// Result of a successful TCP probe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TcpResult {
    /// Time to establish the connection.
    pub connect: Duration,
    /// Time from connect to the echo's arrival.
    pub echo: Duration,
}

/// Connects to `addr`, sends [`PING`] and waits for it back, all within `timeout`.
pub async fn probe(addr: &str, timeout: Duration) -> Result<TcpResult, ProbeError> {
    let run = async {
        let sa = resolve(addr).await?;
        let t0 = Instant::now();
        let mut s = TcpStream::connect(sa).await?;
        let connect = t0.elapsed();
        s.set_nodelay(true)?;
        s.write_all(PING).await?;
        let mut buf = [0u8; PING.len()];
        s.read_exact(&mut buf).await?;
        if buf != PING {
            return Err(ProbeError::Unexpected("echo mismatch".into()));
        }
        // Close with a reset: a prober opening thousands of connections a second would
        // otherwise leave each in TIME_WAIT for a minute (600,000 sockets at 10,000 probes/s).
        let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
        Ok(TcpResult {
            connect,
            echo: t0.elapsed() - connect,
        })
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::Timeout(timeout.as_millis())),
    }
}
