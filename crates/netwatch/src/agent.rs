//! The agent that runs at every node: TCP echo, UDP echo and a small HTTP health page, all on
//! one address, with loss and delay injection for tests and drills.
//!
//! The TCP listener looks at the first bytes of each connection: an HTTP method gets the HTTP
//! page, anything else is echoed. UDP probe packets are echoed with the agent's receive time
//! stamped in. `--drop-udp SHARE` drops exactly that share of UDP packets, deterministically
//! (packet `i` is dropped when `floor((i+1)·share) > floor(i·share)`), so a drill's loss figure
//! is known in advance; `--delay MS` holds back every echo and HTTP answer. An agent given its
//! [`Peers`] (the topology's nodes and the shared key) also answers signed
//! `GET /probe?node=ID&…` requests from the monitor ([`crate::peer`]), which makes it a vantage
//! point; any other probe request is refused and logged.

use crate::peer::Peers;
use crate::probe::udp::{AGENT_TS_OFFSET, HEADER_LEN, MAGIC};
use crate::stop::{self, Stop, StopSource};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;

/// How an agent behaves.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// Address for TCP, UDP and HTTP (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Share of UDP packets to drop, in `[0, 1]`.
    pub drop_udp: f64,
    /// Delay added to every answer.
    pub delay: Duration,
    /// The peers it probes on a signed request (be a vantage point); none: it probes nobody.
    pub peers: Option<Peers>,
}

impl AgentOptions {
    /// A well-behaved agent on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        AgentOptions {
            listen,
            drop_udp: 0.0,
            delay: Duration::ZERO,
            peers: None,
        }
    }
}

/// Why an agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The drop share is not in `[0, 1]`.
    #[error("--drop-udp must be a share between 0 and 1, got {0}")]
    BadShare(f64),
    /// A socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// A running agent.
#[derive(Debug)]
pub struct AgentHandle {
    addr: SocketAddr,
    stop: StopSource,
    tasks: JoinSet<()>,
}

impl AgentHandle {
    /// The address actually bound (TCP and UDP share it).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and answering, and waits for the tasks to end.
    pub async fn shutdown(mut self) {
        self.stop.stop();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Waits until the agent stops by itself (it only does on a fatal error) or `stop` trips.
    pub async fn run_until(mut self, mut stop: Stop) {
        stop.wait().await;
        self.stop.stop();
        while self.tasks.join_next().await.is_some() {}
    }
}

struct Shared {
    drop_udp: f64,
    delay: Duration,
    peers: Option<Peers>,
    udp_count: AtomicU64,
    started: std::time::Instant,
}

impl Shared {
    fn drop_this(&self) -> bool {
        let i = self.udp_count.fetch_add(1, Ordering::Relaxed) as f64;
        ((i + 1.0) * self.drop_udp).floor() > (i * self.drop_udp).floor()
    }
}

/// Binds the agent's sockets and starts serving.
pub async fn spawn(opts: AgentOptions) -> Result<AgentHandle, AgentError> {
    if !(0.0..=1.0).contains(&opts.drop_udp) {
        return Err(AgentError::BadShare(opts.drop_udp));
    }
    let bind_err = |addr, source| AgentError::Bind { addr, source };
    let tcp = TcpListener::bind(opts.listen)
        .await
        .map_err(|e| bind_err(opts.listen, e))?;
    let addr = tcp.local_addr().map_err(|e| bind_err(opts.listen, e))?;
    let udp = UdpSocket::bind(addr).await.map_err(|e| bind_err(addr, e))?;
    let shared = Arc::new(Shared {
        drop_udp: opts.drop_udp,
        delay: opts.delay,
        peers: opts.peers,
        udp_count: AtomicU64::new(0),
        started: std::time::Instant::now(),
    });
    let (source, stop) = stop::channel();
    let mut tasks = JoinSet::new();
    tasks.spawn(serve_tcp(tcp, shared.clone(), stop.clone()));
    tasks.spawn(serve_udp(Arc::new(udp), shared, stop));
    Ok(AgentHandle {
        addr,
        stop: source,
        tasks,
    })
}

/// Serves TCP echo + HTTP on an already bound listener until `stop` trips (used by benchmarks
/// that bind thousands of listeners in one process).
pub async fn serve_echo_listener(listener: TcpListener, stop: Stop) {
    let shared = Arc::new(Shared {
        drop_udp: 0.0,
        delay: Duration::ZERO,
        peers: None,
        udp_count: AtomicU64::new(0),
        started: std::time::Instant::now(),
    });
    serve_tcp(listener, shared, stop).await
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>, mut stop: Stop) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => {
                    let sh = shared.clone();
                    conns.spawn(async move {
                        // A connection ends on its own; errors only concern that peer.
                        let _ = tokio::time::timeout(Duration::from_secs(30), handle_conn(s, sh)).await;
                    });
                }
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    tracing::warn!("agent accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

async fn handle_conn(mut s: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).await?;
    if n == 0 {
        return Ok(());
    }
    let methods: [&[u8]; 3] = [b"GET ", b"HEAD ", b"POST "];
    if methods.iter().any(|m| buf[..n].starts_with(m)) {
        let mut n = n;
        while !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") && n < buf.len() {
            let more = s.read(&mut buf[n..]).await?;
            if more == 0 {
                break;
            }
            n += more;
        }
        let (status, body) = http_answer(&buf[..n], &shared).await;
        tokio::time::sleep(shared.delay).await;
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await?;
        s.write_all(body.as_bytes()).await?;
        return s.shutdown().await;
    }
    let mut n = n;
    loop {
        if !shared.delay.is_zero() {
            tokio::time::sleep(shared.delay).await;
        }
        s.write_all(&buf[..n]).await?;
        n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
    }
}

async fn http_answer(req: &[u8], shared: &Shared) -> (&'static str, String) {
    let line = String::from_utf8_lossy(req.split(|b| *b == b'\r').next().unwrap_or(b""));
    let path = line.split(' ').nth(1).unwrap_or("/");
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    match route {
        "/health" | "/" => (
            "200 OK",
            format!(
                "{{\"status\":\"ok\",\"uptime_s\":{}}}",
                shared.started.elapsed().as_secs()
            ),
        ),
        "/probe" if shared.peers.is_some() => {
            let Some(peers) = &shared.peers else {
                return ("404 Not Found", "{\"error\":\"not found\"}".into());
            };
            let (target, timeout) = match peers.admit(query, jiff::Timestamp::now()) {
                Ok((addr, ms)) => (addr, Duration::from_millis(ms)),
                Err(refusal) => {
                    tracing::warn!(%refusal, "refused a probe request");
                    return (
                        "403 Forbidden",
                        serde_json::json!({"error": refusal.to_string()}).to_string(),
                    );
                }
            };
            let body = match crate::probe::tcp::probe(&target, timeout).await {
                Ok(r) => format!(
                    "{{\"ok\":true,\"rtt_ms\":{:.3}}}",
                    (r.connect + r.echo).as_secs_f64() * 1e3
                ),
                Err(e) => serde_json::json!({"ok": false, "error": e.to_string()}).to_string(),
            };
            ("200 OK", body)
        }
        _ => ("404 Not Found", "{\"error\":\"not found\"}".into()),
    }
}

async fn serve_udp(sock: Arc<UdpSocket>, shared: Arc<Shared>, mut stop: Stop) {
    let mut buf = vec![0u8; 2048];
    loop {
        tokio::select! {
            _ = stop.wait() => break,
            r = sock.recv_from(&mut buf) => {
                let Ok((n, peer)) = r else { continue };
                if n < HEADER_LEN || &buf[0..4] != MAGIC {
                    continue;
                }
                if shared.drop_this() {
                    continue;
                }
                let now = jiff::Timestamp::now().as_nanosecond() as u64;
                buf[AGENT_TS_OFFSET..AGENT_TS_OFFSET + 8].copy_from_slice(&now.to_be_bytes());
                if shared.delay.is_zero() {
                    let _ = sock.send_to(&buf[..n], peer).await;
                } else {
                    let (s, pkt, d) = (sock.clone(), buf[..n].to_vec(), shared.delay);
                    tokio::spawn(async move {
                        tokio::time::sleep(d).await;
                        let _ = s.send_to(&pkt, peer).await;
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_share_is_exact() {
        let sh = Shared {
            drop_udp: 0.2,
            delay: Duration::ZERO,
            peers: None,
            udp_count: AtomicU64::new(0),
            started: std::time::Instant::now(),
        };
        let dropped = (0..1000).filter(|_| sh.drop_this()).count();
        assert_eq!(dropped, 200);
    }
}
